CREATE TABLE `email_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`claimed_at` integer NOT NULL,
	`budgeted` integer DEFAULT false NOT NULL,
	`outcome` text
);
--> statement-breakpoint
CREATE INDEX `email_deliveries_claimed` ON `email_deliveries` (`claimed_at`);
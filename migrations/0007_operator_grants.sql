CREATE TABLE `operator_grants` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`action` text NOT NULL,
	`tenant_id` text NOT NULL,
	`username_key` text NOT NULL,
	`expires_at` integer NOT NULL
);

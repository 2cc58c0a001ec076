ALTER TABLE `sessions` ADD `authenticated_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Sessions opened before this column existed proved the password when they were opened.
UPDATE `sessions` SET `authenticated_at` = `created_at`;

CREATE TABLE `audit_checkpoints` (
	`tenant_id` text NOT NULL,
	`seq` integer NOT NULL,
	`chain` text NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`signature` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `seq`, `kind`)
);
--> statement-breakpoint
ALTER TABLE `audit_events` ADD `mac` text;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `seq` integer;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `chain` text;--> statement-breakpoint
CREATE UNIQUE INDEX `audit_tenant_seq` ON `audit_events` (`tenant_id`,`seq`);--> statement-breakpoint
ALTER TABLE `users` ADD `last_sign_in_at` integer;--> statement-breakpoint
-- The enrollment report's last sign-in, kept by the database: opening a session writes nothing more.
CREATE TRIGGER sessions_last_sign_in AFTER INSERT ON sessions WHEN NEW.kind = 'session' BEGIN
  UPDATE users SET last_sign_in_at = NEW.created_at WHERE id = NEW.user_id;
END;

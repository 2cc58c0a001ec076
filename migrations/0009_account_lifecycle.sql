CREATE TABLE `password_resets` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`requested_by` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `password_resets_user` ON `password_resets` (`user_id`);--> statement-breakpoint
CREATE INDEX `password_resets_expires` ON `password_resets` (`expires_at`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `last_used_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `ip` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `user_agent` text;--> statement-breakpoint
ALTER TABLE `users` ADD `deactivated_at` integer;--> statement-breakpoint
-- The dashboard's counts leave deactivated users out: they are neither users to enroll nor users
-- with MFA. One trigger follows both columns, so an update that changes both at once (a user
-- deactivated while MFA is reset) moves each count once.
DROP TRIGGER users_count_insert;
--> statement-breakpoint
DROP TRIGGER users_count_delete;
--> statement-breakpoint
DROP TRIGGER users_count_mfa;
--> statement-breakpoint
CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
  UPDATE tenants SET
    user_count = user_count + (NEW.deactivated_at IS NULL),
    enrolled_count = enrolled_count + (NEW.deactivated_at IS NULL AND NEW.mfa_enabled_at IS NOT NULL)
  WHERE id = NEW.tenant_id;
END;
--> statement-breakpoint
CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
  UPDATE tenants SET
    user_count = user_count - (OLD.deactivated_at IS NULL),
    enrolled_count = enrolled_count - (OLD.deactivated_at IS NULL AND OLD.mfa_enabled_at IS NOT NULL)
  WHERE id = OLD.tenant_id;
END;
--> statement-breakpoint
CREATE TRIGGER users_count_update AFTER UPDATE OF mfa_enabled_at, deactivated_at ON users
WHEN (OLD.deactivated_at IS NULL) <> (NEW.deactivated_at IS NULL)
  OR (OLD.mfa_enabled_at IS NULL) <> (NEW.mfa_enabled_at IS NULL) BEGIN
  UPDATE tenants SET
    user_count = user_count + (NEW.deactivated_at IS NULL) - (OLD.deactivated_at IS NULL),
    enrolled_count = enrolled_count
      + (NEW.deactivated_at IS NULL AND NEW.mfa_enabled_at IS NOT NULL)
      - (OLD.deactivated_at IS NULL AND OLD.mfa_enabled_at IS NOT NULL)
  WHERE id = NEW.tenant_id;
END;

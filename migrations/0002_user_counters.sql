-- Per-tenant user counts for the enrollment dashboard, kept exact by triggers so that every write
-- path (the API, the operator CLI, a hand-run SQL fix) updates them in the same transaction.
UPDATE tenants SET
  user_count = (SELECT count(*) FROM users WHERE users.tenant_id = tenants.id),
  enrolled_count = (SELECT count(*) FROM users WHERE users.tenant_id = tenants.id AND users.mfa_enabled_at IS NOT NULL);
--> statement-breakpoint
CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
  UPDATE tenants SET
    user_count = user_count + 1,
    enrolled_count = enrolled_count + (NEW.mfa_enabled_at IS NOT NULL)
  WHERE id = NEW.tenant_id;
END;
--> statement-breakpoint
CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
  UPDATE tenants SET
    user_count = user_count - 1,
    enrolled_count = enrolled_count - (OLD.mfa_enabled_at IS NOT NULL)
  WHERE id = OLD.tenant_id;
END;
--> statement-breakpoint
CREATE TRIGGER users_count_mfa AFTER UPDATE OF mfa_enabled_at ON users
WHEN (OLD.mfa_enabled_at IS NULL) <> (NEW.mfa_enabled_at IS NULL) BEGIN
  UPDATE tenants SET
    enrolled_count = enrolled_count + (NEW.mfa_enabled_at IS NOT NULL) - (OLD.mfa_enabled_at IS NOT NULL)
  WHERE id = NEW.tenant_id;
END;

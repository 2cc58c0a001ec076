CREATE TABLE `mfa_coverage_days` (
	`tenant_id` text NOT NULL,
	`date` text NOT NULL,
	`total_users` integer NOT NULL,
	`enrolled_users` integer NOT NULL,
	`blocked` integer NOT NULL,
	`in_grace` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `date`)
);

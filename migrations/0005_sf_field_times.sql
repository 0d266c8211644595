CREATE TABLE `sf_field_times` (
	`entity` text NOT NULL,
	`record_id` text NOT NULL,
	`field` text NOT NULL,
	`at` integer NOT NULL,
	`value` text,
	PRIMARY KEY(`entity`, `record_id`, `field`)
);
--> statement-breakpoint
CREATE INDEX `sf_field_times_at_idx` ON `sf_field_times` (`at`);
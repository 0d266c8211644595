CREATE TABLE `mapping_warnings` (
	`id` text PRIMARY KEY NOT NULL,
	`mapping` text NOT NULL,
	`direction` text NOT NULL,
	`source_object` text NOT NULL,
	`source_record_id` text NOT NULL,
	`attio_object` text NOT NULL,
	`attio_record_id` text,
	`sf_object` text NOT NULL,
	`sf_record_id` text,
	`field` text NOT NULL,
	`attribute` text NOT NULL,
	`code` text NOT NULL,
	`message` text NOT NULL,
	`value` text,
	`status` text DEFAULT 'open' NOT NULL,
	`occurrences` integer DEFAULT 1 NOT NULL,
	`correlation_id` text NOT NULL,
	`first_seen_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`last_seen_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`cleared_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `mapping_warnings_open_uq` ON `mapping_warnings` (`direction`,`source_object`,`source_record_id`,`field`) WHERE status = 'open';--> statement-breakpoint
CREATE INDEX `mapping_warnings_record_idx` ON `mapping_warnings` (`source_record_id`,`status`);--> statement-breakpoint
CREATE INDEX `mapping_warnings_status_idx` ON `mapping_warnings` (`status`,`last_seen_at`);
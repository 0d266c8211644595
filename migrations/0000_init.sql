CREATE TABLE `ambiguous_matches` (
	`id` text PRIMARY KEY NOT NULL,
	`side` text NOT NULL,
	`object` text NOT NULL,
	`record_id` text NOT NULL,
	`candidates` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`correlation_id` text NOT NULL,
	`mapping_id` text,
	`direction` text NOT NULL,
	`operation` text NOT NULL,
	`attio_object` text,
	`attio_record_id` text,
	`sf_object` text,
	`sf_record_id` text,
	`changes` text NOT NULL,
	`source_event` text NOT NULL,
	`actor` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_attio_idx` ON `audit_log` (`attio_object`,`attio_record_id`);--> statement-breakpoint
CREATE INDEX `audit_log_sf_idx` ON `audit_log` (`sf_object`,`sf_record_id`);--> statement-breakpoint
CREATE INDEX `audit_log_at_idx` ON `audit_log` (`at`);--> statement-breakpoint
CREATE TABLE `config_versions` (
	`version` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`document` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `conflicts` (
	`id` text PRIMARY KEY NOT NULL,
	`mapping_id` text NOT NULL,
	`field` text NOT NULL,
	`base_value` text,
	`attio_value` text,
	`sf_value` text,
	`status` text DEFAULT 'open' NOT NULL,
	`resolution` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`resolved_at` text,
	FOREIGN KEY (`mapping_id`) REFERENCES `id_mappings`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `conflicts_status_idx` ON `conflicts` (`status`);--> statement-breakpoint
CREATE UNIQUE INDEX `conflicts_open_field_uq` ON `conflicts` (`mapping_id`,`field`) WHERE status = 'open';--> statement-breakpoint
CREATE TABLE `deferred_refs` (
	`side` text NOT NULL,
	`object` text NOT NULL,
	`record_id` text NOT NULL,
	`target_object` text NOT NULL,
	`target_id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deferred_refs_uq` ON `deferred_refs` (`side`,`record_id`,`target_id`);--> statement-breakpoint
CREATE INDEX `deferred_refs_target_idx` ON `deferred_refs` (`side`,`target_id`);--> statement-breakpoint
CREATE TABLE `failures` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`message_kind` text NOT NULL,
	`message` text NOT NULL,
	`error_code` text NOT NULL,
	`error_message` text NOT NULL,
	`attempted` text,
	`attempts` integer NOT NULL,
	`correlation_id` text NOT NULL,
	`record_key` text,
	`first_failed_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`last_failed_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `failures_status_idx` ON `failures` (`status`,`last_failed_at`);--> statement-breakpoint
CREATE TABLE `id_mappings` (
	`id` text PRIMARY KEY NOT NULL,
	`attio_object` text NOT NULL,
	`attio_record_id` text NOT NULL,
	`sf_object` text NOT NULL,
	`sf_record_id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `id_mappings_attio_uq` ON `id_mappings` (`attio_object`,`attio_record_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `id_mappings_sf_uq` ON `id_mappings` (`sf_object`,`sf_record_id`);--> statement-breakpoint
CREATE TABLE `inbound_events` (
	`key` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`received_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `inbound_events_received_idx` ON `inbound_events` (`received_at`);--> statement-breakpoint
CREATE TABLE `job_match_keys` (
	`job_id` text NOT NULL,
	`mapping` text NOT NULL,
	`key` text NOT NULL,
	`sf_id` text NOT NULL,
	PRIMARY KEY(`job_id`, `mapping`, `key`, `sf_id`),
	FOREIGN KEY (`job_id`) REFERENCES `sync_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `job_records` (
	`job_id` text NOT NULL,
	`mapping` text NOT NULL,
	`side` text NOT NULL,
	`record_id` text NOT NULL,
	`outcome` text,
	`action` text,
	`detail` text,
	PRIMARY KEY(`job_id`, `side`, `record_id`),
	FOREIGN KEY (`job_id`) REFERENCES `sync_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `job_records_outcome_idx` ON `job_records` (`job_id`,`mapping`,`side`,`outcome`);--> statement-breakpoint
CREATE TABLE `pending_deletes` (
	`id` text PRIMARY KEY NOT NULL,
	`mapping_id` text NOT NULL,
	`deleted_on` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`detected_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`decided_at` text
);
--> statement-breakpoint
CREATE TABLE `sync_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`state` text NOT NULL,
	`params` text NOT NULL,
	`checkpoint` text,
	`progress` text NOT NULL,
	`error_sample` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sync_state` (
	`mapping_id` text PRIMARY KEY NOT NULL,
	`base_values` text NOT NULL,
	`base_hash` text NOT NULL,
	`attio_seen_at` text,
	`sf_system_modstamp` text,
	`last_direction` text NOT NULL,
	`last_synced_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`mapping_id`) REFERENCES `id_mappings`(`id`) ON UPDATE no action ON DELETE cascade
);

CREATE TABLE `create_intents` (
	`source_side` text NOT NULL,
	`source_object` text NOT NULL,
	`source_record_id` text NOT NULL,
	`target_side` text NOT NULL,
	`target_object` text NOT NULL,
	`marker` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`state` text DEFAULT 'open' NOT NULL,
	`closed_at` text,
	PRIMARY KEY(`source_side`, `source_object`, `source_record_id`, `target_side`)
);
--> statement-breakpoint
CREATE INDEX `create_intents_state_idx` ON `create_intents` (`state`,`closed_at`);
CREATE TABLE `alerts` (
	`key` text PRIMARY KEY NOT NULL,
	`code` text NOT NULL,
	`affects` text NOT NULL,
	`message` text NOT NULL,
	`action` text NOT NULL,
	`opened_at` text NOT NULL,
	`open_sent_at` text,
	`cleared_at` text,
	`clear_sent_at` text
);
--> statement-breakpoint
CREATE TABLE `held_updates` (
	`hold_id` text NOT NULL,
	`side` text NOT NULL,
	`record_id` text NOT NULL,
	`held_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`hold_id`, `side`, `record_id`)
);
--> statement-breakpoint
CREATE TABLE `recent_updates` (
	`mapping` text NOT NULL,
	`side` text NOT NULL,
	`record_id` text NOT NULL,
	`at` text NOT NULL,
	PRIMARY KEY(`mapping`, `side`, `record_id`)
);
--> statement-breakpoint
CREATE INDEX `recent_updates_at_idx` ON `recent_updates` (`mapping`,`side`,`at`);--> statement-breakpoint
CREATE TABLE `update_holds` (
	`id` text PRIMARY KEY NOT NULL,
	`mapping` text NOT NULL,
	`side` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`count` integer NOT NULL,
	`threshold` integer NOT NULL,
	`window_minutes` integer NOT NULL,
	`detected_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`decided_at` text,
	`decided_by` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `update_holds_pending_uq` ON `update_holds` (`mapping`,`side`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `update_holds_status_idx` ON `update_holds` (`status`,`detected_at`);
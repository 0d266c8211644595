CREATE TABLE `parked_changes` (
	`key` text PRIMARY KEY NOT NULL,
	`queue` text NOT NULL,
	`message` text NOT NULL,
	`reason` text NOT NULL,
	`error_message` text NOT NULL,
	`times` integer DEFAULT 1 NOT NULL,
	`first_parked_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`last_parked_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `parked_changes_reason_idx` ON `parked_changes` (`reason`,`first_parked_at`);
CREATE TABLE `issue_dismissals` (
	`kind` text NOT NULL,
	`item_id` text NOT NULL,
	`reason` text NOT NULL,
	`dismissed_by` text NOT NULL,
	`dismissed_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`note` text,
	PRIMARY KEY(`kind`, `item_id`)
);
--> statement-breakpoint
CREATE INDEX `issue_dismissals_at_idx` ON `issue_dismissals` (`dismissed_at`);
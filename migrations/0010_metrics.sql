CREATE TABLE `metric_samples` (
	`metric` text NOT NULL,
	`subject` text NOT NULL,
	`at` text NOT NULL,
	`value` integer NOT NULL,
	PRIMARY KEY(`metric`, `subject`, `at`)
);
--> statement-breakpoint
CREATE INDEX `metric_samples_at_idx` ON `metric_samples` (`at`);--> statement-breakpoint
CREATE TABLE `queue_counts` (
	`counter` text PRIMARY KEY NOT NULL,
	`n` integer NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);

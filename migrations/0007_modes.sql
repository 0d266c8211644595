CREATE TABLE `deployment_mode` (
	`id` text PRIMARY KEY NOT NULL,
	`mode` text NOT NULL,
	`since` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`changed_by` text NOT NULL
);

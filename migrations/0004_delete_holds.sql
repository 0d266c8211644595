ALTER TABLE `pending_deletes` ADD `reason` text DEFAULT 'policy' NOT NULL;--> statement-breakpoint
ALTER TABLE `pending_deletes` ADD `batch_id` text;
/** What to do when a linked record disappears on one side (config `delete_policy`). */
export type DeletePolicy = "hold" | "propagate" | "ignore";

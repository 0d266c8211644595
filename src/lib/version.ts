/** Reported by /healthz and /api/v1/status; keep in step with package.json. */
export const VERSION = "0.1.0";

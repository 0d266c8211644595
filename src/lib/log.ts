/** Levels in increasing order of severity; `silent` turns logging off (used by the tests). */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line also carries `fields` (e.g. the correlation id of one event). */
  child(fields: Record<string, unknown>): Logger;
}

/**
 * One JSON object per line, so Workers Logs can filter on any field.
 *
 * @example
 * const log = createLogger("info", { correlation_id: "c-1" });
 * log.info("enqueued", { count: 2 }); // {"level":"info","msg":"enqueued","correlation_id":"c-1","count":2,...}
 */
export function createLogger(level: LogLevel, base: Record<string, unknown> = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (at: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(at) < threshold) return;
    const line = JSON.stringify({ level: at, msg, time: new Date().toISOString(), ...base, ...fields });
    if (at === "error") console.error(line);
    else if (at === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }),
  };
}

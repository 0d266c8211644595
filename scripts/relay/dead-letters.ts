import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";

/** One event the relay gave up on, as a line of the dead-letter file. */
export interface DeadLetter {
  channel: string;
  /** Display form of the event's replay id. */
  replayId: number | string;
  /** Why it was given up: the Worker's answer, or the conversion error. */
  reason: string;
  /** The Worker's HTTP status, when it answered. */
  status?: number;
  /** POSTs of this event the Worker refused (0 for an event the relay could not convert). */
  attempts: number;
  /** The event as it would have been sent, or as decoded from Pub/Sub when it could not be converted. */
  event: unknown;
}

/**
 * Where the relay parks the events it gives up on, so the stream behind them moves on. Implement
 * this interface to park them elsewhere (a queue, a bucket).
 */
export interface DeadLetterSink {
  park(letters: readonly DeadLetter[]): Promise<void>;
}

/**
 * The default sink: a JSON-lines file, one event per line with the time it was parked, appended and
 * flushed to disk (fsync) before the relay moves past the events. Replay a line by hand once its
 * cause is fixed, or let the catch-up it can request bring the records' current state.
 */
export class FileDeadLetters implements DeadLetterSink {
  readonly path: string;
  #writes: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  park(letters: readonly DeadLetter[]): Promise<void> {
    const parkedAt = new Date().toISOString();
    const text = letters.map((letter) => `${JSON.stringify({ parkedAt, ...letter }, jsonSafe)}\n`).join("");
    // Appends are queued so two channels parking at once cannot interleave their lines.
    const write = this.#writes.then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const file = await open(this.path, "a", 0o600);
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
    });
    this.#writes = write.catch(() => {});
    return write;
  }
}

/** Decoded Pub/Sub values JSON cannot hold as they are: longs and bytes. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return value;
}

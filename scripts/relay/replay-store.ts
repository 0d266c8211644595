import { type FileHandle, mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { SyncError } from "../../src/lib/errors.ts";
import type { Logger } from "../../src/lib/log.ts";
import type { ReplayIdBase64 } from "./replay-id.ts";

/**
 * Where the relay remembers, per channel, the replay id of the last event the Worker acknowledged.
 * The relay writes only after a 2xx, so after a restart it resumes right after what the Worker has.
 * Implement this interface to keep the position elsewhere (a database, a key-value store).
 */
export interface ReplayStore {
  load(channel: string): Promise<ReplayIdBase64 | undefined>;
  save(channel: string, replayId: ReplayIdBase64): Promise<void>;
}

const FileSchema = z.object({
  version: z.literal(1),
  channels: z.record(z.string(), z.object({ replayId: z.string().min(1), savedAt: z.string() })),
});
type FileContents = z.infer<typeof FileSchema>;

/**
 * The default store: one small JSON file, replaced atomically and durably: the new contents go to
 * a temp file that is flushed to disk (fsync) before it is renamed over the old one, and the folder
 * is flushed after, so a power loss leaves the previous position or the new one, never a torn file.
 *
 * Should the file still be unreadable (empty, torn, not this shape), it is moved aside with a log
 * line and the relay starts as if it had no position: from the latest event, with a catch-up of
 * its objects (as for an expired replay id), instead of refusing to start.
 */
export class FileReplayStore implements ReplayStore {
  readonly path: string;
  readonly #log: Logger | undefined;
  #contents: FileContents | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(path: string, log?: Logger) {
    this.path = path;
    this.#log = log;
  }

  async load(channel: string): Promise<ReplayIdBase64 | undefined> {
    const contents = await this.#read();
    return contents.channels[channel]?.replayId;
  }

  save(channel: string, replayId: ReplayIdBase64): Promise<void> {
    // Writes are queued so two channels saving at once cannot interleave their renames.
    const write = this.#writes.then(async () => {
      const contents = await this.#read();
      contents.channels[channel] = { replayId, savedAt: new Date().toISOString() };
      const folder = dirname(this.path);
      await mkdir(folder, { recursive: true });
      const temp = `${this.path}.${process.pid}.tmp`;
      const file = await open(temp, "w", 0o600);
      try {
        await file.writeFile(`${JSON.stringify(contents, null, 2)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
      await syncFolder(folder);
    });
    this.#writes = write.catch(() => {});
    return write;
  }

  async #read(): Promise<FileContents> {
    if (this.#contents) return this.#contents;
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        this.#contents = { version: 1, channels: {} };
        return this.#contents;
      }
      throw new SyncError("config_invalid", `cannot read the replay store ${this.path}`, { cause: err });
    }
    const problem = unreadable(text);
    if (typeof problem === "string") {
      const aside = `${this.path}.unreadable-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      await rename(this.path, aside);
      this.#log?.error("replay store unreadable; moved aside, starting from the latest event with a catch-up", {
        replay_store: this.path,
        moved_to: aside,
        problem,
      });
      this.#contents = { version: 1, channels: {} };
      return this.#contents;
    }
    this.#contents = problem.contents;
    return this.#contents;
  }
}

/** What is wrong with the store's text, or its contents when nothing is. */
function unreadable(text: string): string | { contents: FileContents } {
  if (text.trim() === "") return "the file is empty";
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "the file is not valid JSON (torn by a crash?)";
  }
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) return "the file has an unexpected shape";
  return { contents: parsed.data };
}

/** Flushes a folder's entries (a rename) to disk; a no-op where folders cannot be opened (Windows). */
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, "r");
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL") throw err;
  } finally {
    await handle?.close();
  }
}

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { SyncError } from "../../src/lib/errors.ts";
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
 * The default store: one small JSON file, replaced atomically (write to a temp file, then rename) so
 * a crash mid-write leaves the previous position rather than a torn file.
 */
export class FileReplayStore implements ReplayStore {
  readonly path: string;
  #contents: FileContents | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
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
      await mkdir(dirname(this.path), { recursive: true });
      const temp = `${this.path}.${process.pid}.tmp`;
      await writeFile(temp, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600 });
      await rename(temp, this.path);
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
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new SyncError("config_invalid", `the replay store ${this.path} is not valid JSON; fix or delete it`, {
        cause: err,
      });
    }
    const parsed = FileSchema.safeParse(json);
    if (!parsed.success) {
      throw new SyncError("config_invalid", `the replay store ${this.path} has an unexpected shape; fix or delete it`);
    }
    this.#contents = parsed.data;
    return this.#contents;
  }
}

import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "smol-toml";
import type { CommandOptions, CommandResult, WranglerRunner } from "../../../scripts/setup/runner.ts";

/**
 * A Cloudflare account as wrangler shows it: each command is recorded and answered with the output
 * wrangler 4 prints (JSON where it offers JSON, its messages and error codes otherwise), over state
 * that persists between runs, so a second setup sees what the first created.
 */
export class FakeWrangler {
  readonly calls: string[][] = [];
  readonly databases: { uuid: string; name: string }[] = [];
  readonly namespaces: { id: string; title: string }[] = [];
  readonly queues = new Set<string>();
  /** Workers by name, with their secrets' values (the real API never shows them; tests read them here). */
  readonly workers = new Map<string, { secrets: Map<string, string>; deploys: number; config: string }>();
  readonly migrated = new Set<string>();
  /** Contents of the secrets files handed to `deploy --secrets-file` (read while they exist). */
  readonly secretsFiles: Record<string, string>[] = [];

  constructor(private readonly subdomain = "acme") {}

  readonly run: WranglerRunner = async (args, options = {}) => {
    this.calls.push(args);
    return this.answer(args, options);
  };

  /** The commands since call number `from` that created or changed something in the account. */
  mutationsSince(from: number): string[][] {
    return this.calls
      .slice(from)
      .filter(
        ([a, b, c]) =>
          (a === "d1" && b === "create") ||
          (a === "kv" && b === "namespace" && c === "create") ||
          (a === "queues" && b === "create") ||
          a === "deploy" ||
          (a === "secret" && (b === "put" || b === "bulk" || b === "delete")),
      );
  }

  private answer(args: string[], options: CommandOptions): CommandResult {
    const [command, sub, third] = args;
    const flag = (name: string) => {
      const at = args.indexOf(name);
      return at >= 0 ? args[at + 1] : undefined;
    };
    const workerName = () => flag("--name") ?? this.workerOf(flag("--config"));
    if (command === "d1" && sub === "list") {
      return ok(
        JSON.stringify(
          this.databases.map((db) => ({
            uuid: db.uuid,
            name: db.name,
            created_at: "2026-12-07T14:00:00.000Z",
            version: "production",
            num_tables: 0,
            file_size: 12288,
          })),
          null,
          2,
        ),
      );
    }
    if (command === "d1" && sub === "create" && third) {
      if (this.databases.some((db) => db.name === third)) {
        return fail(
          `✘ [ERROR] A request to the Cloudflare API failed.\n\n  A database with that name already exists [code: 7502]`,
        );
      }
      const uuid = randomUUID();
      this.databases.push({ uuid, name: third });
      return ok(
        `✅ Successfully created DB '${third}' in region WEUR\nCreated your new D1 database.\n\nTo access your new D1 Database in your Worker, add the following snippet to your configuration file:\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "${third}"\ndatabase_id = "${uuid}"\n`,
      );
    }
    if (command === "d1" && sub === "migrations" && third === "apply") {
      const config = this.read(flag("--config"));
      const id = (config["d1_databases"] as { database_id: string }[])[0]?.database_id ?? "";
      if (!this.databases.some((db) => db.uuid === id)) return fail(`✘ [ERROR] Couldn't find DB with ID ${id}`);
      if (this.migrated.has(id)) return ok("✅ No migrations to apply!");
      this.migrated.add(id);
      return ok("Migrations to be applied:\n│ 0000_init.sql │\n🚣 Executed 9 migrations\n✅ Migrations applied");
    }
    if (command === "kv" && sub === "namespace" && third === "list") {
      return ok(
        JSON.stringify(
          this.namespaces.map((ns) => ({ ...ns, supports_url_encoding: true })),
          null,
          "  ",
        ),
      );
    }
    if (command === "kv" && sub === "namespace" && third === "create") {
      const title = args[3] ?? "";
      if (this.namespaces.some((ns) => ns.title === title)) {
        return fail(`✘ [ERROR] A KV namespace with the title "${title}" already exists.`);
      }
      const id = randomUUID().replaceAll("-", "");
      this.namespaces.push({ id, title });
      return ok(
        `🌀 Creating namespace with title "${title}"\n✨ Success!\nTo access your new KV Namespace in your Worker, add the following snippet to your configuration file:\n[[kv_namespaces]]\nbinding = "KV"\nid = "${id}"\n`,
      );
    }
    if (command === "queues" && sub === "info" && third) {
      if (!this.queues.has(third)) {
        return fail(
          `✘ [ERROR] A request to the Cloudflare API failed.\n\n  Queue ${third} does not exist [code: 11000]`,
        );
      }
      return ok(`Queue Name: ${third}\nQueue ID: ${randomUUID().replaceAll("-", "")}\nNumber of Producers: 0\n`);
    }
    if (command === "queues" && sub === "create" && third) {
      if (this.queues.has(third)) return fail(`✘ [ERROR] Queue name already taken [code: 11009]`);
      this.queues.add(third);
      return ok(`🌀 Creating queue '${third}'\n✅ Created queue '${third}'\n`);
    }
    if (command === "secret" && sub === "list") {
      const worker = this.workers.get(workerName() ?? "");
      if (!worker) {
        return fail(
          `✘ [ERROR] A request to the Cloudflare API failed.\n\n  This Worker does not exist on your account. [code: 10007]`,
        );
      }
      return ok(JSON.stringify([...worker.secrets.keys()].map((name) => ({ name, type: "secret_text" }))));
    }
    if (command === "secret" && (sub === "put" || sub === "bulk" || sub === "delete")) {
      const worker = this.workers.get(workerName() ?? "");
      if (!worker) return fail("✘ [ERROR] This Worker does not exist on your account. [code: 10007]");
      if (sub === "put" && third) worker.secrets.set(third, options.input ?? "");
      if (sub === "delete" && third) worker.secrets.delete(third);
      if (sub === "bulk") {
        for (const [k, v] of Object.entries(JSON.parse(options.input ?? "{}") as Record<string, string>)) {
          worker.secrets.set(k, v);
        }
      }
      return ok(`✨ Success! Created version ${randomUUID()} with secret(s).`);
    }
    if (command === "deploy") {
      const path = flag("--config");
      const text = readFileSync(path ?? "", "utf8");
      const config = parse(text) as Record<string, unknown>;
      const name = String(config["name"]);
      const worker = this.workers.get(name) ?? { secrets: new Map<string, string>(), deploys: 0, config: text };
      const file = flag("--secrets-file");
      if (file) {
        const values = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
        this.secretsFiles.push(values);
        for (const [k, v] of Object.entries(values)) worker.secrets.set(k, v);
      }
      const required = ((config["secrets"] as { required?: string[] })?.required ?? []).filter(
        (secret) => !worker.secrets.has(secret),
      );
      if (required.length > 0) {
        return fail(`✘ [ERROR] The following required secrets have not been set: ${required.join(", ")}`);
      }
      worker.deploys++;
      worker.config = text;
      this.workers.set(name, worker);
      const url = `https://${name}.${this.subdomain}.workers.dev`;
      const output = options.env?.["WRANGLER_OUTPUT_FILE_PATH"];
      if (output) {
        writeFileSync(
          output,
          `${JSON.stringify({ type: "wrangler-session", version: 1, wrangler_version: "4.156.2" })}\n${JSON.stringify({ type: "deploy", version: 1, worker_name: name, version_id: randomUUID(), targets: [url] })}\n`,
        );
      }
      return ok(
        `Total Upload: 1843.21 KiB / gzip: 372.55 KiB\nUploaded ${name} (4.12 sec)\nDeployed ${name} triggers (1.03 sec)\n  ${url}\n  schedule: */5 * * * *\nCurrent Version ID: ${randomUUID()}\n`,
      );
    }
    return fail(`✘ [ERROR] the fake does not know \`wrangler ${args.join(" ")}\``);
  }

  private read(path: string | undefined): Record<string, unknown> {
    return parse(readFileSync(path ?? "", "utf8")) as Record<string, unknown>;
  }

  private workerOf(path: string | undefined): string | undefined {
    return path ? String(this.read(path)["name"]) : undefined;
  }
}

const ok = (stdout: string): CommandResult => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string): CommandResult => ({ code: 1, stdout: "", stderr });

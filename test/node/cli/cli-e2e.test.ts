import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../scripts/cli/main.ts";
import { freePort, type Stack, seedSample, startStack } from "../../../scripts/sandbox/stack.ts";

/**
 * `attio-sfdc <command>` against a real Worker (the sandbox stack, one for the file): each command
 * through the same `main` the bin runs, and the bin itself through `npx` and `npm run cli`.
 */
const REPO = resolve(import.meta.dirname, "../../..");
const exec = promisify(execFile);

let stack: Stack;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  // Left in setup, with the sample records held: `start` is the CLI's to run.
  stack = await startStack({ seed: 91, start: false });
  await seedSample(stack);
  dir = await mkdtemp(join(tmpdir(), "attio-sfdc-cli-"));
  env = { ATTIO_SFDC_URL: stack.workerUrl, ATTIO_SFDC_TOKEN: stack.adminToken };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
}

/** The CLI in this process, as bin.mjs runs it. */
async function cli(args: string[], overrides: Record<string, string | undefined> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    args,
    { ...env, ...overrides },
    {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      readText: (path) => import("node:fs/promises").then((fs) => fs.readFile(path, "utf8")),
      sleep: (ms) => new Promise((done) => setTimeout(done, Math.min(ms, 200))),
    },
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** The JSON answer of a command (`--json`). */
async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const run = await cli([...args, "--json"]);
  expect(run.code, run.err).toBe(0);
  return JSON.parse(run.out) as T;
}

/** The real program: `npx attio-sfdc …`, `npm run cli -- …`, or bin.mjs run by this Node. */
async function spawn(program: "npx" | "npm" | "bin", args: string[], extra: Record<string, string> = {}): Promise<Run> {
  const [file, argv] =
    program === "npx"
      ? ["npx", ["attio-sfdc", ...args]]
      : program === "npm"
        ? ["npm", ["run", "-s", "cli", "--", ...args]]
        : [process.execPath, [join(REPO, "scripts/cli/bin.mjs"), ...args]];
  try {
    const { stdout, stderr } = await exec(file, argv, {
      cwd: REPO,
      env: { ...process.env, ADMIN_TOKEN: "", ...env, ...extra },
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: failed.stdout ?? "", err: failed.stderr ?? "" };
  }
}

describe("attio-sfdc against a running Worker", () => {
  it("npx attio-sfdc status: a new deployment in setup, its mappings, exit 0", async () => {
    const run = await spawn("npx", ["status"]);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^mode +setup since \S+ \(new deployment\)$/m);
    expect(run.out).toMatch(/^held changes +[1-9]\d*$/m);
    expect(run.out).toMatch(/^NAME +ATTIO +SALESFORCE +LINKED/m);
    expect(run.out).toMatch(/^people +people +Contact +0 /m);
  });

  it("npm run cli -- status --json prints the API's answer as it is", async () => {
    const run = await spawn("npm", ["status", "--json"]);
    expect(run.code).toBe(0);
    const body = JSON.parse(run.out) as { mode: string; held_changes: number };
    expect(body.mode).toBe("setup");
    expect(body.held_changes).toBeGreaterThan(0);
  });

  let jobId = "";
  it("sync --dry-run --wait plans every record without writing (in setup), then jobs lists it", async () => {
    const run = await cli(["sync", "--dry-run", "--objects", "people", "--wait"]);
    expect(run.code, run.err).toBe(0);
    jobId = /^job (\S+) queued$/m.exec(run.err)?.[1] ?? "";
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.out).toMatch(new RegExp(`^job +${jobId}$`, "m"));
    expect(run.out).toMatch(/^state +done$/m);
    expect(run.out).toMatch(/^mode +full \(dry run\)$/m);
    expect(run.out).toMatch(/^MAPPING +SIDE +RECORD +ACTION +COUNTERPART +WOULD WRITE$/m);
    type Planned = { side: string; record_id: string; action: string; salesforce_record_id: string | null };
    const report = await json<{ plan: Planned[] }>(["jobs", "show", jobId]);
    expect(report.plan.length).toBeGreaterThan(0);
    expect(run.out.match(/^people +(attio|salesforce) /gm)).toHaveLength(report.plan.length);
    // The sample has people on both sides with one email: linked, not created twice.
    const link = report.plan.find((p) => p.side === "attio" && p.action === "link");
    expect(run.out).toMatch(
      new RegExp(`^people +attio +${link?.record_id} +link +${link?.salesforce_record_id} +-$`, "m"),
    );
    const create = report.plan.find((p) => p.side === "attio" && p.action === "create");
    expect(run.out).toMatch(
      new RegExp(`^people +attio +${create?.record_id} +create +new +salesforce: FirstName, `, "m"),
    );
    expect(await json(["status"])).toMatchObject({ mode: "setup" });

    const jobs = await cli(["jobs"]);
    expect(jobs.code).toBe(0);
    expect(jobs.out).toMatch(/^ID +STATE +MODE +DRY RUN +ENQUEUED +COUNTS$/m);
    expect(jobs.out).toMatch(new RegExp(`^${jobId} +done +full +yes +[1-9]`, "m"));
  });

  it("start, then start again: setup -> running with the first catch-up, then nothing changed", async () => {
    const run = await cli(["start"]);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/^setup -> running$/m);
    expect(run.out).toMatch(/^changed by +operator:admin-token$/m);
    expect(run.out).toMatch(/^held changes +\d+ held change\(s\) sent, \d+ left$/m);
    expect(run.out).toMatch(/^people +\d+ Contact changed since \S+ +>?=? ?\d+ people to compare$/m);
    const again = await cli(["start"]);
    expect(again.out).toMatch(/^already running \(nothing changed\)$/m);
  });

  it("pause and resume: each prints the move and its exit code is 0", async () => {
    const paused = await cli(["pause"]);
    expect(paused.code, paused.err).toBe(0);
    expect(paused.out).toMatch(/^running -> paused$/m);
    expect(await json(["status"])).toMatchObject({ mode: "paused" });
    const resumed = await cli(["resume"]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(/^paused -> running$/m);
    expect(resumed.out).toMatch(/^held changes +(nothing was held|\d+ held change\(s\) sent, \d+ left)$/m);
  });

  it("issues: the total and one block per group, as the API counts them", async () => {
    const body = await json<{ total: number; groups: { reason: string; count: number }[] }>(["issues"]);
    const run = await cli(["issues"]);
    expect(run.code).toBe(0);
    expect(run.out.split("\n")[0]).toBe(`${body.total} open issue${body.total === 1 ? "" : "s"}`);
    for (const group of body.groups) expect(run.out).toContain(`${group.reason} (${group.count} `);
    const bad = await cli(["issues", "--reason", "nonsense"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^attio-sfdc: issues: --reason: not a reason: nonsense \(one of write_rejected, /);
  });

  it("issues dismiss and retry: the items acted on, and refused ones with exit code 1", async () => {
    // The sample's deals have owners without a counterpart user: warnings, once the deals synced.
    type Issues = { groups: { reason: string; kind: string; items: { id: string }[] }[] };
    let issues = await json<Issues>(["issues"]);
    for (let i = 0; i < 100 && !issues.groups.some((g) => g.kind === "warning"); i++) {
      await new Promise((done) => setTimeout(done, 200));
      issues = await json<Issues>(["issues"]);
    }
    const group = issues.groups.find((g) => g.kind === "warning");
    const id = group?.items[0]?.id;
    if (!group || !id) throw new Error("no warning opened");

    const dismissed = await cli(["issues", "dismiss", "--items", `warning:${id}`, "--note", "cli test"]);
    expect(dismissed.code, dismissed.err).toBe(0);
    expect(dismissed.out).toMatch(/^dismiss: 1 acted, 0 refused$/m);
    expect(dismissed.out).toMatch(new RegExp(`^warning +${id} +${group.reason} +dismissed$`, "m"));
    const after = await json<Issues>(["issues"]);
    expect(after.groups.flatMap((g) => g.items.map((item) => item.id))).not.toContain(id);

    const refused = await cli(["issues", "retry", "--items", "conflict:no-such-conflict"]);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/^retry: 0 acted, 1 refused$/m);
    expect(refused.out).toMatch(/^conflict +no-such-conflict +\S+ +\S/m);
    expect(await cli(["issues", "retry"])).toMatchObject({
      code: 2,
      err: "attio-sfdc: issues retry: give --reason or --items (not both)",
    });
  });

  it("explain salesforce Contact <id>: the reason, its next step and the field table", async () => {
    const state = (await (await fetch(`${stack.salesforce.url}/__control/state`)).json()) as {
      records: Record<string, { Id: string; LastName: string }[]>;
    };
    const contact = state.records["Contact"]?.[0];
    if (!contact) throw new Error("the sample has no Contact");
    const args = ["explain", "salesforce", "Contact", contact.Id];
    // Started just before: the record is linked once the first sync of it has run.
    type Explanation = { reason: string; counterpart: { record_id: string } | null };
    let body = await json<Explanation>(args);
    for (let i = 0; i < 100 && body.reason !== "in_sync"; i++) {
      await new Promise((done) => setTimeout(done, 200));
      body = await json<Explanation>(args);
    }
    expect(body.reason).toBe("in_sync");
    const run = await cli(args);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/^in sync +yes$/m);
    expect(run.out).toMatch(/^reason +in_sync$/m);
    expect(run.out).toMatch(/^next step +Nothing to do\.$/m);
    expect(run.out).toMatch(new RegExp(`^record +salesforce Contact ${contact.Id}$`, "m"));
    expect(run.out).toMatch(new RegExp(`^counterpart +attio people ${body.counterpart?.record_id}$`, "m"));
    expect(run.out).toMatch(/^FIELD +ATTRIBUTE +ATTIO +SALESFORCE +IN SYNC +WOULD$/m);
    expect(run.out).toMatch(
      new RegExp(`^LastName +name\\.last_name +${contact.LastName} +${contact.LastName} +yes +nothing$`, "m"),
    );
  });

  it("conflicts, deletes and matches: one row per item the API lists", async () => {
    for (const [command, empty] of [
      ["conflicts", "(no conflicts)"],
      ["deletes", "(no deletes)"],
      ["matches", "(no ambiguous matches)"],
    ] as const) {
      const body = await json<{ items: unknown[] }>([command]);
      const run = await cli([command]);
      expect(run.code, run.err).toBe(0);
      expect(run.out.split("\n")).toHaveLength(body.items.length === 0 ? 1 : body.items.length + 1);
      if (body.items.length === 0) expect(run.out).toBe(empty);
    }
  });

  it("config validate, put and get: problems named with their line, then the stored version", async () => {
    const bad = join(dir, "bad.toml");
    const good = join(dir, "good.toml");
    await writeFile(bad, '[sync]\ndirection = "sideways"\n');
    await writeFile(good, "[health]\nfailures = 3\n");

    expect((await cli(["config", "get"])).out).toBe("# no configuration stored: the defaults are in force");

    const invalid = await cli(["config", "validate", bad]);
    expect(invalid.code).toBe(1);
    expect(invalid.out).toMatch(/^invalid: 1 problem\(s\)$/m);
    expect(invalid.out).toMatch(/^sync\.direction +2 +Invalid option/m);

    const refused = await cli(["config", "put", bad]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^error 422 config_invalid: The configuration is invalid; nothing was stored$/m);
    expect(refused.err).toMatch(/^ {2}- sync\.direction: Invalid option/m);

    const valid = await cli(["config", "validate", good]);
    expect(valid).toMatchObject({ code: 0, out: "valid: both CRMs have every field the document maps" });
    const stored = await cli(["config", "put", good]);
    expect(stored.code, stored.err).toBe(0);
    const version = Number(/^stored as version (\d+);/.exec(stored.out)?.[1]);
    expect(version).toBeGreaterThan(0);
    expect((await cli(["config", "get"])).out).toBe(`# configuration version ${version}\n[health]\nfailures = 3`);

    const missing = await cli(["config", "put", join(dir, "absent.toml")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^attio-sfdc: config put: cannot read .*absent\.toml: ENOENT/);
  });

  it("doctor: one row per check, and exit code 1 exactly when a check fails", async () => {
    const raw = await cli(["doctor", "--json"]);
    const body = JSON.parse(raw.out) as { status: string; checks: { id: string; status: string }[] };
    expect(body.checks.map((check) => check.id)).toContain("cron_recent");
    const run = await cli(["doctor"]);
    expect(run.code).toBe(body.status === "fail" ? 1 : 0);
    expect(raw.code).toBe(run.code);
    expect(run.out.split("\n")[0]).toBe(`${body.status.toUpperCase()}  ${stack.workerUrl}`);
    for (const check of body.checks) {
      expect(run.out).toMatch(new RegExp(`^${check.status.toUpperCase()} +${check.id} +\\S`, "m"));
    }
  });
});

describe("attio-sfdc errors", () => {
  it("a wrong token: the API's error, a hint, exit code 1, and the token never printed", async () => {
    const token = "wrong-token-0123456789abcdef-do-not-print";
    const run = await spawn("bin", ["status"], { ATTIO_SFDC_TOKEN: token });
    expect(run.code).toBe(1);
    expect(run.out).toBe("");
    expect(run.err).toMatch(/^error 401 unauthorized: .+ \(check ATTIO_SFDC_TOKEN: the Worker's ADMIN_TOKEN\)$/m);
    expect(`${run.out}${run.err}`).not.toContain(token);
  });

  it("the API's validation details, one line each (a job id that is not a uuid), and a 404", async () => {
    const bad = await cli(["jobs", "show", "not-a-uuid"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error 400 bad_request: .+\n {2}- id: /);
    const gone = await cli(["jobs", "cancel", "00000000-0000-4000-8000-000000000000"]);
    expect(gone.code).toBe(1);
    expect(gone.err).toBe("error 404 not_found: no queued or running job 00000000-0000-4000-8000-000000000000");
  });

  it("decisions on what does not exist: 404 named, exit code 1", async () => {
    const cases = [
      [["conflicts", "resolve", "no-such-conflict", "--side", "attio"], /^error 404 not_found: /],
      [["deletes", "approve", "no-such-delete"], /^error 404 not_found: /],
      [["deletes", "reject-batch", "no-such-batch"], /^error 404 not_found: /],
      [["matches", "link", "no-such-match", "003Sb0000004C93IAE"], /^error 404 not_found: /],
    ] as const;
    for (const [args, message] of cases) {
      const run = await cli([...args]);
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.err).toMatch(message);
    }
  });

  it("the Worker not reached: named with the network's reason, exit code 3", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await cli(["status", "--url", url]);
    expect(run.code).toBe(3);
    expect(run.err).toBe(
      `could not reach the Worker at ${url} (GET /api/v1/status): connect ECONNREFUSED ${url.slice(7)}`,
    );
  });

  it("wrong usage and missing settings: exit code 2 before any call", async () => {
    expect(await cli(["sync", "--mode", "sideways"])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^attio-sfdc: sync: --mode: Invalid option/),
    });
    expect(await cli(["status"], { ATTIO_SFDC_TOKEN: undefined, ADMIN_TOKEN: undefined })).toMatchObject({
      code: 2,
      err: "no admin token: set ATTIO_SFDC_TOKEN (the Worker's ADMIN_TOKEN)",
    });
    expect(await cli(["config"])).toMatchObject({
      code: 2,
      err: "attio-sfdc: config needs one of: get, put, validate",
    });
    expect(await cli(["explain", "salesforce"])).toMatchObject({
      code: 2,
      err: "attio-sfdc: explain: expected <side> <object> <record_id>, got salesforce",
    });
  });
});

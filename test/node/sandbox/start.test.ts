import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, SANDBOX_ADMIN_TOKEN } from "../../../scripts/sandbox/shared/local.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../../..");
const BIN = join(ROOT, "node_modules/.bin");

interface SfContact {
  Id: string;
  Email: string;
  Title: string | null;
}
interface AttioPerson {
  values: { email_addresses?: Array<{ email_address: string }>; job_title?: Array<{ value: string }> };
}

let child: ChildProcess;
let output = "";
let ports: { worker: number; attio: number; salesforce: number };
let stateDir: string;

/**
 * What `npm start` runs (`tsx scripts/sandbox/start.ts`, with node_modules/.bin first on PATH as npm
 * puts it), in its own process group as a terminal's foreground job is, so SIGINT reaches every
 * process like Ctrl-C does. npm itself is left out: on SIGINT it reports the signal, not the
 * program's exit code, and so does tsx's CLI when the machine is busy (it relays the signal, and
 * reported 130 where the program exited 0): Node runs the script itself, with tsx as its loader.
 */
beforeAll(async () => {
  const [worker = 0, attio = 0, salesforce = 0] = await freePorts(3);
  ports = { worker, attio, salesforce };
  stateDir = await mkdtemp(join(tmpdir(), "attio-sfdc-start-test-"));
  child = spawn(
    "node",
    [
      "--import",
      "tsx",
      "scripts/sandbox/start.ts",
      "--worker-port",
      String(ports.worker),
      "--attio-port",
      String(attio),
      "--salesforce-port",
      String(salesforce),
      "--state-dir",
      stateDir,
    ],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PATH: `${BIN}${delimiter}${process.env["PATH"] ?? ""}`, WRANGLER_SEND_METRICS: "false" },
    },
  );
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
});

afterAll(async () => {
  // Only if the test failed before its own SIGINT: nothing of the group may outlive the test.
  if (child?.pid && groupAlive(child.pid)) process.kill(-child.pid, "SIGKILL");
  await rm(stateDir, { recursive: true, force: true });
});

describe("npm start", () => {
  it("runs the initial sync, shows it, carries a CLI edit across, and stops everything on Ctrl-C", async () => {
    await until("the view reports the initial sync finished", () => /initial sync finished/.test(output), 120_000);
    // Not a terminal: plain lines, no cursor movement.
    expect(output).not.toContain("\x1b[");
    expect(output).toMatch(/people<->Contact \d+ linked/);
    // It started its new deployment itself, after seeding, and said what the first catch-up will consider.
    expect(output).toMatch(/Mode: running \(was setup\)/);
    expect(output).toMatch(
      /first catch-up, people: \d+ Attio people \(\d+ linked\); \d+ Salesforce Contact changed since/,
    );
    expect(output).toMatch(/\| mode running \|/);
    // Where to look and how to sign in (docs/CONSOLE.md).
    expect(output).toContain(
      `Console     http://127.0.0.1:${ports.worker}/console  (sign in with the token ${SANDBOX_ADMIN_TOKEN})`,
    );

    // The sample people present on both sides were matched by email, not duplicated.
    const status = await getJson<{ mapped_records: Record<string, number> }>(
      `http://127.0.0.1:${ports.worker}/api/v1/status`,
      SANDBOX_ADMIN_TOKEN,
    );
    const sf = await getJson<{ records: { Contact: SfContact[] } }>(
      `http://127.0.0.1:${ports.salesforce}/__control/state`,
    );
    const emails = sf.records.Contact.map((c) => c.Email);
    expect(new Set(emails).size).toBe(emails.length);
    expect(status.mapped_records["people:Contact"]).toBe(emails.length);

    const priya = sf.records.Contact.find((c) => c.Email === "priya@marigold-learning.example");
    expect(priya).toBeDefined();
    await run(
      "npm",
      [
        "run",
        "sandbox",
        "--",
        "edit",
        "salesforce",
        "Contact",
        priya?.Id ?? "",
        "Title=Chief Learning Officer",
        "--attio-port",
        String(ports.attio),
        "--salesforce-port",
        String(ports.salesforce),
      ],
      { cwd: ROOT, timeout: 30_000 },
    );
    await untilAsync(
      "the edit reaches the Attio emulator",
      async () => {
        const attio = await getJson<{ records: { people: AttioPerson[] } }>(
          `http://127.0.0.1:${ports.attio}/__control/state`,
        );
        const person = attio.records.people.find((p) =>
          p.values.email_addresses?.some((e) => e.email_address === "priya@marigold-learning.example"),
        );
        return person?.values.job_title?.[0]?.value === "Chief Learning Officer";
      },
      30_000,
    );

    const pid = child.pid ?? 0;
    const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
    process.kill(-pid, "SIGINT");
    const code = await Promise.race([exited, sleep(30_000).then(() => "timeout" as const)]);
    expect(code, output.slice(-2000)).toBe(0);
    expect(output).toContain("Stopped.");
    // Every process of the group is gone (wrangler's workerd included) and the ports are free again.
    await until("the process group is gone", () => !groupAlive(pid), 10_000);
    for (const port of Object.values(ports)) expect(await canListen(port)).toBe(true);
  }, 200_000);
});

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  await untilAsync(what, async () => check(), timeoutMs);
}

async function untilAsync(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms. Output so far:\n${output.slice(-3000)}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolveListen) => {
    const server = createServer();
    server.once("error", () => resolveListen(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolveListen(true)));
  });
}

/** Distinct free ports, all held until each is known, so the three cannot coincide. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolveServer, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolveServer(server));
        }),
    ),
  );
  const found = servers.map((s) => {
    const address = s.address();
    return typeof address === "object" && address ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return found;
}

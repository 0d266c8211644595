import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type ConfigProblem, loadRelayConfig } from "../../../scripts/relay/config.ts";
import { SyncError } from "../../../src/lib/errors.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));

const valid = {
  SALESFORCE_LOGIN_URL: "https://acme.my.salesforce.com",
  SALESFORCE_CLIENT_ID: "client-id",
  SALESFORCE_CLIENT_SECRET: "very-secret-client-value",
  RELAY_SECRET: "relay-secret-0123456789abcdef-0123",
  WORKER_URL: "https://attio-sfdc.example.workers.dev",
};

/** The problems loadRelayConfig reports for `env`, in order; fails the test when it accepts it. */
function problemsOf(env: Record<string, string | undefined>): ConfigProblem[] {
  try {
    loadRelayConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(SyncError);
    expect((err as SyncError).code).toBe("config_invalid");
    return (err as SyncError).detail["problems"] as ConfigProblem[];
  }
  throw new Error("the configuration was accepted");
}

/** Runs `node scripts/relay/start.mjs` (the production entry point) with only `env` and PATH. */
function runStart(env: Record<string, string>, nodeArgs: string[] = []) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [...nodeArgs, "scripts/relay/start.mjs"],
      {
        cwd: root,
        // (ProcessEnv is widened by the Worker's generated types.)
        env: { PATH: process.env["PATH"] ?? "", ...env } as unknown as NodeJS.ProcessEnv,
        timeout: 15_000,
        encoding: "utf8",
      },
      (_err: Error | null, _stdout: string, stderr: string) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

describe("relay configuration validation", () => {
  it("reports one problem per setting, each naming the variable, and says 'is not set' for a missing one", () => {
    expect(
      problemsOf({
        SALESFORCE_LOGIN_URL: "ftp://acme.my.salesforce.com",
        SALESFORCE_CLIENT_SECRET: "very-secret-client-value",
        WORKER_URL: "https://w.example",
        RELAY_BATCH_SIZE: "many",
        RELAY_HEALTH_PORT: "70000",
        RELAY_RETRY_BASE_MS: "5",
        RELAY_PUBSUB_ENDPOINT: "api.pubsub.salesforce.com",
        LOG_LEVEL: "loud",
      }),
    ).toEqual([
      { variable: "SALESFORCE_LOGIN_URL", problem: "must be an http(s) URL" },
      { variable: "SALESFORCE_CLIENT_ID", problem: "is not set" },
      { variable: "RELAY_SECRET", problem: "is not set" },
      { variable: "RELAY_PUBSUB_ENDPOINT", problem: "must be host:port" },
      { variable: "RELAY_HEALTH_PORT", problem: "must be at most 65535" },
      { variable: "RELAY_BATCH_SIZE", problem: "must be a whole number from 1 to 1000" },
      { variable: "RELAY_RETRY_BASE_MS", problem: "must be at least 10" },
      { variable: "LOG_LEVEL", problem: "must be one of debug, info, warn, error, silent" },
    ]);
  });

  it("treats an empty variable as unset, and rejects a fraction", () => {
    expect(problemsOf({ ...valid, RELAY_SECRET: "", RELAY_BATCH_LINGER_MS: "1.5" })).toEqual([
      { variable: "RELAY_SECRET", problem: "is not set" },
      { variable: "RELAY_BATCH_LINGER_MS", problem: "must be a whole number from 0 to 60000" },
    ]);
  });

  it("names a misspelt RELAY_ variable and the setting it was meant to be", () => {
    expect(problemsOf({ ...valid, RELAY_BATCHSIZE: "10", RELAY_CHANEL: "/data/ChangeEvents" })).toEqual([
      { variable: "RELAY_BATCHSIZE", problem: "is not a relay setting: did you mean RELAY_BATCH_SIZE?" },
      { variable: "RELAY_CHANEL", problem: "is not a relay setting: did you mean RELAY_CHANNELS?" },
    ]);
    // Other variables are none of its business: the platform's own (Kubernetes sets these for a
    // Service named "relay"), PATH, HOME...
    expect(() =>
      loadRelayConfig({
        ...valid,
        RELAY_SERVICE_HOST: "10.0.0.1",
        RELAY_PORT: "tcp://10.0.0.1:80",
        HOME: "/root",
        NODE_ENV: "production",
      }),
    ).not.toThrow();
  });

  it("reports settings that contradict each other, all at once", () => {
    expect(
      problemsOf({
        ...valid,
        RELAY_RETRY_BASE_MS: "5000",
        RELAY_RETRY_MAX_MS: "1000",
        RELAY_BATCH_SIZE: "500",
        RELAY_BUFFER_CAPACITY: "100",
      }),
    ).toEqual([
      { variable: "RELAY_RETRY_MAX_MS", problem: "is below RELAY_RETRY_BASE_MS" },
      { variable: "RELAY_BUFFER_CAPACITY", problem: "must be at least RELAY_BATCH_SIZE, or batches never fill" },
    ]);
  });

  it("never repeats a value in the message", () => {
    let message = "";
    try {
      loadRelayConfig({ ...valid, RELAY_SECRET: "too-short-secret", WORKER_URL: "http://worker.internal" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/RELAY_SECRET: must be at least 32 characters/);
    expect(message).toMatch(/WORKER_URL: must be https/);
    expect(message).not.toContain("too-short-secret");
    expect(message).not.toContain("worker.internal");
  });
});

describe("node scripts/relay/start.mjs", () => {
  it("refuses a bad configuration with exit code 2 and one line per bad setting", async () => {
    const { code, stderr } = await runStart({
      SALESFORCE_LOGIN_URL: "https://acme.my.salesforce.com",
      SALESFORCE_CLIENT_ID: "client-id",
      SALESFORCE_CLIENT_SECRET: "very-secret-client-value",
      RELAY_SECRET: "short",
      RELAY_BATCH_SIZE: "0",
    });
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([
      "attio-sfdc relay: invalid configuration, 3 setting(s) to fix:",
      "attio-sfdc relay: RELAY_SECRET: must be at least 32 characters (generate one with `openssl rand -hex 32`)",
      "attio-sfdc relay: WORKER_URL: is not set",
      "attio-sfdc relay: RELAY_BATCH_SIZE: must be at least 1",
      "See docs/RELAY.md#configuration for every variable.",
    ]);
    expect(stderr).not.toContain("very-secret-client-value");
  }, 20_000);

  it("refuses a Node older than 22.18 before loading any TypeScript, with exit code 2", async () => {
    // The version is faked by a preload: this suite itself runs on a Node that is new enough.
    const fake = (version: string) => [
      "--import",
      `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${version}"})`,
    ];
    const old = await runStart({}, fake("22.17.1"));
    expect(old.code).toBe(2);
    expect(old.stderr).toBe(
      "attio-sfdc relay: Node 22.18 or newer is required (it runs the TypeScript sources directly); " +
        "this is Node 22.17.1. Install Node 22 LTS (docs/RELAY.md#node).\n",
    );
    expect((await runStart({}, fake("20.19.0"))).stderr).toContain("this is Node 20.19.0");
    // 22.18 itself passes the check and reaches the configuration (all of it missing here).
    const current = await runStart({}, fake("22.18.0"));
    expect(current.code).toBe(2);
    expect(current.stderr).toContain("SALESFORCE_LOGIN_URL: is not set");
  }, 30_000);
});

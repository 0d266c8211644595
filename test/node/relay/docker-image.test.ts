import { execFile, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./helpers/fake-worker.ts";
import { accountUpdate, Harness } from "./helpers/harness.ts";

/**
 * Builds scripts/relay/Dockerfile and runs the image: it refuses a bad configuration, and with a good
 * one relays an event from the fake Pub/Sub server to the fake Worker (both on the host's 127.0.0.1,
 * reached through --network host), answers its health check, and stops cleanly on SIGTERM.
 * Skipped only where no Docker daemon answers (`docker info` fails). The build pulls node:22-slim
 * and runs `npm ci`, so it needs both registries (docs/RELAY.md#docker says how this was run where
 * Docker Hub was out of reach).
 */
const root = fileURLToPath(new URL("../../../", import.meta.url));

function dockerReachable(): boolean {
  try {
    execFileSync("docker", ["info"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function docker(args: string[], timeout = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      "docker",
      args,
      { cwd: root, timeout, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (_err: Error | null, stdout: string, stderr: string) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const tag = `attio-sfdc-relay:test-${process.pid}`;
const volume = `attio-sfdc-relay-test-${process.pid}`;
const container = `attio-sfdc-relay-test-${process.pid}`;

describe.skipIf(!dockerReachable())("relay Docker image (scripts/relay/Dockerfile)", () => {
  let harness: Harness | undefined;

  beforeAll(async () => {
    const build = await docker(["build", "-f", "scripts/relay/Dockerfile", "-t", tag, "."], 600_000);
    if (build.code !== 0) throw new Error(`docker build failed:\n${build.stdout.slice(-3000)}\n${build.stderr}`);
  }, 620_000);

  afterAll(async () => {
    await harness?.stop();
    await docker(["rm", "-f", container]);
    await docker(["volume", "rm", "-f", volume]);
    await docker(["rmi", "-f", tag]);
  }, 60_000);

  it("runs as the unprivileged user, with a health check, through the Node version check", async () => {
    const inspect = await docker(["image", "inspect", tag]);
    const [image] = JSON.parse(inspect.stdout) as {
      Config: { User: string; Cmd: string[]; Healthcheck?: { Test: string[] }; ExposedPorts: Record<string, unknown> };
    }[];
    expect(image?.Config.User).toBe("node");
    expect(image?.Config.Cmd).toEqual(["node", "scripts/relay/start.mjs"]);
    expect(image?.Config.Healthcheck?.Test.join(" ")).toContain("/healthz");
    expect(Object.keys(image?.Config.ExposedPorts ?? {})).toEqual(["8080/tcp"]);
    const version = await docker(["run", "--rm", "--entrypoint", "node", tag, "--version"]);
    const [major, minor] = version.stdout.trim().slice(1).split(".").map(Number);
    expect((major ?? 0) > 22 || (major === 22 && (minor ?? 0) >= 18)).toBe(true);
    // Only production dependencies: no tsx, no wrangler.
    const modules = await docker(["run", "--rm", "--entrypoint", "ls", tag, "node_modules"]);
    expect(modules.stdout.split("\n")).toContain("@grpc");
    expect(modules.stdout.split("\n")).not.toContain("tsx");
    expect(modules.stdout.split("\n")).not.toContain("wrangler");
    // The API reference (a devDependency the Worker bundles at deploy) stays out of the relay.
    expect(modules.stdout.split("\n")).not.toContain("@scalar");
  }, 60_000);

  it("refuses a bad configuration: exit code 2, one line per bad setting", async () => {
    const run = await docker(["run", "--rm", "-e", "RELAY_SECRET=short", tag]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("attio-sfdc relay: SALESFORCE_LOGIN_URL: is not set\n");
    expect(run.stderr).toContain("attio-sfdc relay: RELAY_SECRET: must be at least 32 characters");
    expect(run.stderr).toContain("attio-sfdc relay: WORKER_URL: is not set\n");
  }, 60_000);

  it("relays an event to the Worker, reports healthy, and exits 0 on docker stop", async () => {
    harness = await new Harness().start();
    const port = await freePort();
    const env = {
      ...harness.env,
      RELAY_HEALTH_PORT: String(port),
      // The image's own: on its volume.
      RELAY_REPLAY_STORE: "/var/lib/attio-sfdc-relay/replay-ids.json",
    };
    const started = await docker([
      "run",
      "-d",
      "--name",
      container,
      "--network",
      "host",
      "--health-interval",
      "1s",
      "--health-start-period",
      "1s",
      "-v",
      `${volume}:/var/lib/attio-sfdc-relay`,
      ...Object.entries(env).flatMap(([name, value]) => ["-e", `${name}=${value}`]),
      tag,
    ]);
    expect(started.code).toBe(0);
    const live = harness;
    await waitFor(() => live.pubsub.streams.length === 1, 30_000, "the container's subscription");
    const replayId = live.pubsub.publish("/data/AccountChangeEvent", accountUpdate(7));
    await waitFor(() => live.worker.acceptedEvents.length === 1, 15_000, "the event at the Worker");
    expect(live.worker.acceptedEvents[0]?.payload["Phone"]).toBe("+1 503 555 0007");

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok" });
    let state = "";
    for (let i = 0; i < 30 && state !== "healthy"; i++) {
      state = (await docker(["inspect", "-f", "{{.State.Health.Status}}", container])).stdout.trim();
      if (state !== "healthy") await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(state).toBe("healthy");

    // The position went to the volume, as the unprivileged user.
    const stored = await docker([
      "run",
      "--rm",
      "-v",
      `${volume}:/state`,
      "--entrypoint",
      "stat",
      tag,
      "-c",
      "%U %a",
      "/state/replay-ids.json",
    ]);
    expect(stored.stdout.trim()).toBe("node 600");
    expect((await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json())) as unknown).toMatchObject({
      channels: [expect.objectContaining({ last_delivered_replay_id: replayId })],
    });

    expect((await docker(["stop", container], 30_000)).code).toBe(0);
    const exit = await docker(["inspect", "-f", "{{.State.ExitCode}}", container]);
    expect(exit.stdout.trim()).toBe("0");
  }, 120_000);
});

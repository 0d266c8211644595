import { execFile, execFileSync } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * scripts/relay/attio-sfdc-relay.service checked by systemd's own tools (static checks: no unit is
 * started). Skipped where `systemd-analyze` is missing (apt package `systemd`).
 */
const unitPath = fileURLToPath(new URL("../../../scripts/relay/attio-sfdc-relay.service", import.meta.url));
const UNIT = "attio-sfdc-relay.service";

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync("systemd-analyze", ["--version"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function analyze(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      "systemd-analyze",
      args,
      { cwd, timeout: 30_000, encoding: "utf8" },
      (_err: Error | null, stdout: string, stderr: string) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

/** "→ Overall exposure level for x.service: 1.5 OK 🙂" -> 1.5 */
function exposure(output: string): number {
  const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(output);
  if (!match?.[1]) throw new Error(`no exposure level in:\n${output}`);
  return Number(match[1]);
}

describe.skipIf(!hasSystemdAnalyze())("the relay's systemd unit", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "relay-unit-"));
    await copyFile(unitPath, join(dir, UNIT));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("passes systemd-analyze verify with no warning (an unknown or misspelt directive would be one)", async () => {
    const result = await analyze(["verify", UNIT], dir);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("the check above does catch a misspelt directive", async () => {
    const text = (await readFile(unitPath, "utf8")).replace("NoNewPrivileges=", "NoNewPrivilege=");
    await writeFile(join(dir, "misspelt.service"), text);
    const result = await analyze(["verify", "misspelt.service"], dir);
    expect(result.stderr).toMatch(/Unknown key '?NoNewPrivilege'?/);
  });

  it("is sandboxed: systemd-analyze security rates its exposure 'OK' (below 2 of 10)", async () => {
    const result = await analyze(["security", "--offline=true", "--no-pager", UNIT], dir);
    expect(exposure(result.stdout + result.stderr)).toBeLessThan(2);
  });

  it("runs the version-checking entry point and gives up on exit code 2 (bad configuration)", async () => {
    const text = await readFile(unitPath, "utf8");
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/env node scripts\/relay\/start\.mjs$/m);
    expect(text).toMatch(/^RestartPreventExitStatus=2$/m);
    expect(text).toMatch(/^EnvironmentFile=\/etc\/attio-sfdc-relay\.env$/m);
    expect(text).toMatch(/^StateDirectory=attio-sfdc-relay$/m);
  });
});

import { describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "../../../scripts/cli/args.ts";
import { apiBase, apiErrorMessage } from "../../../scripts/cli/client.ts";
import { findCommand } from "../../../scripts/cli/commands.ts";
import { fields, table } from "../../../scripts/cli/format.ts";
import { main } from "../../../scripts/cli/main.ts";
import { renderDoctor, renderValidation } from "../../../scripts/cli/render-work.ts";

const FLAGS = [
  { name: "mode", type: "string", description: "" },
  { name: "dry-run", type: "boolean", description: "" },
] as const;

describe("parseArgs", () => {
  it("reads flags with a value, `=value`, booleans, positionals and `--`", () => {
    expect(parseArgs(["a", "--mode", "full", "--dry-run", "--url=http://x", "-h", "--", "--json"], FLAGS)).toEqual({
      positionals: ["a", "--json"],
      flags: { mode: "full", "dry-run": true, url: "http://x", help: true },
    });
    expect(parseArgs(["-"], FLAGS).positionals).toEqual(["-"]);
  });

  it("names what is wrong: an unknown flag, a missing value, a value given to a boolean", () => {
    expect(() => parseArgs(["--bogus"], FLAGS)).toThrow(new UsageError("unknown flag --bogus"));
    expect(() => parseArgs(["--mode"], FLAGS)).toThrow("--mode needs a value");
    expect(() => parseArgs(["--mode", "--json"], FLAGS)).toThrow("--mode needs a value");
    expect(() => parseArgs(["--json=yes"], FLAGS)).toThrow("--json takes no value");
  });
});

describe("format", () => {
  it("aligns columns under upper-case headers, cuts long cells, pads no last column", () => {
    expect(
      table(
        ["id", "state", "note"],
        [
          ["a", "done", null],
          ["bbbb", "x", { n: 1 }],
        ],
      ),
    ).toEqual(["ID    STATE  NOTE", "a     done   -", 'bbbb  x      {"n":1}']);
    expect(table(["a"], [["x".repeat(100)]])[1]).toBe(`${"x".repeat(79)}…`);
    expect(table(["a"], [], "(nothing)")).toEqual(["(nothing)"]);
    expect(
      fields([
        ["mode", "running"],
        ["held changes", 0],
      ]),
    ).toEqual(["mode          running", "held changes  0"]);
  });
});

describe("client", () => {
  it("takes the Worker's origin with or without /api/v1, and refuses what is not an http(s) URL", () => {
    expect(apiBase("https://x.workers.dev")).toBe("https://x.workers.dev/api/v1");
    expect(apiBase("https://x.workers.dev/api/v1/")).toBe("https://x.workers.dev/api/v1");
    expect(() => apiBase("x.workers.dev")).toThrow("not a URL: x.workers.dev");
    expect(() => apiBase("ftp://x")).toThrow("must be http(s)");
    expect(() => apiBase("http://x.workers.dev")).toThrow(
      "use https for x.workers.dev: the admin token would travel in clear",
    );
    expect(apiBase("http://localhost:8787")).toBe("http://localhost:8787/api/v1");
  });

  it("shows an answer that is not the API's error by its status and first words", () => {
    expect(apiErrorMessage(502, undefined, "<html>Bad gateway</html>")).toBe(
      "the Worker answered HTTP 502: <html>Bad gateway</html>",
    );
    expect(apiErrorMessage(409, { error: { code: "paused", message: "paused" } }, "")).toBe("error 409 paused: paused");
  });
});

describe("commands and views", () => {
  it("finds two-word commands before one-word ones", () => {
    expect(findCommand(["jobs", "show", "x"])).toMatchObject({ command: { name: "jobs show" }, rest: ["x"] });
    expect(findCommand(["jobs", "--limit", "2"])).toMatchObject({ command: { name: "jobs" } });
    expect(findCommand(["nope"])).toBeUndefined();
  });

  it("doctor and validate exit 1 on a failure, 0 on warnings; an answer of another shape is named", () => {
    const check = (status: string) => ({ id: "cron_recent", status, message: "m", fix: "f" });
    const doctor = (status: string) => ({ status, worker_url: "https://w", checks: [check(status)] });
    expect(renderDoctor(doctor("fail")).exitCode).toBe(1);
    expect(renderDoctor(doctor("warn"))).toEqual({
      lines: [
        "WARN  https://w",
        "",
        "STATUS  CHECK        FOUND",
        "WARN    cron_recent  m",
        "",
        "To fix",
        "  cron_recent: f",
      ],
    });
    expect(renderValidation({ ok: true, problems: [] }).exitCode).toBeUndefined();
    expect(() => renderDoctor({ status: "fine" })).toThrow(/^unexpected answer to GET \/doctor: status: /);
  });

  it("help: asked for on standard output (exit 0), no command on standard error (exit 2)", async () => {
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(argv, {}, { out: (l) => out.push(l), err: (l) => err.push(l), readText: async () => "" });
      return { code, out: out.join("\n"), err: err.join("\n") };
    };
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^ {2}config validate +Check a configuration/m);
    expect(await run([])).toMatchObject({ code: 2, out: "", err: help.out });
    const command = await run(["jobs", "show", "--help"]);
    expect(command.code).toBe(0);
    expect(command.out).toMatch(/^Calls: GET \/api\/v1\/sync\/\{id\}$/m);
    expect(await run(["nope"])).toMatchObject({
      code: 2,
      err: "attio-sfdc: unknown command: nope (attio-sfdc --help lists them)",
    });
    expect(await run(["status", "--json"])).toMatchObject({
      code: 2,
      err: "no Worker URL: pass --url <url> or set ATTIO_SFDC_URL",
    });
  });
});

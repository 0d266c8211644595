import { describe, expect, it } from "vitest";
import { modeDone } from "../../../src/console/app.tsx";
import { fill } from "../../../src/console/charts.tsx";
import { diffLines } from "../../../src/console/diff.ts";
import { etaSeconds, type JobReport } from "../../../src/console/jobs.tsx";
import { BacklogChart, BudgetCharts, LagChart, lagName, metricSeries } from "../../../src/console/metric-charts.tsx";
import { behind } from "../../../src/console/overview.tsx";
import { niceMax } from "../../../src/console/svg.tsx";

/** The console's pure pieces: the config diff, the job ETA, chart scales and buckets, durations, mode answers. */

describe("diffLines", () => {
  it("keeps common lines and marks what was removed and added, in order", () => {
    expect(diffLines("[sync]\na = 1\nb = 2\n", "[sync]\na = 1\nb = 3\nc = 4\n")).toEqual([
      { op: "same", text: "[sync]" },
      { op: "same", text: "a = 1" },
      { op: "del", text: "b = 2" },
      { op: "add", text: "b = 3" },
      { op: "add", text: "c = 4" },
      { op: "same", text: "" },
    ]);
  });

  it("says identical texts are identical, and an empty side is all added or removed", () => {
    expect(diffLines("x\ny", "x\ny")?.every((l) => l.op === "same")).toBe(true);
    expect(diffLines("", "a")).toEqual([
      { op: "del", text: "" },
      { op: "add", text: "a" },
    ]);
  });

  it("declines texts too long to compare line by line", () => {
    const long = Array.from({ length: 2100 }, (_, i) => `line ${i}`).join("\n");
    expect(diffLines(long, `${long}\nmore`)).toBeUndefined();
  });
});

describe("etaSeconds", () => {
  const job = (over: Partial<JobReport>): JobReport => ({
    id: "j",
    state: "running",
    mode: "full",
    dry_run: false,
    progress: {},
    enqueued: 100,
    counts: { processed: 25 },
    errors: [],
    created_at: "2026-12-07T10:00:00.000Z",
    ...over,
  });
  const now = Date.parse("2026-12-07T10:01:00.000Z");

  it("extrapolates the rate so far: a quarter done in a minute leaves three minutes", () => {
    expect(etaSeconds(job({}), now)).toBe(180);
  });

  it("gives none before the first record, when finished, or when the job is not running", () => {
    expect(etaSeconds(job({ counts: { processed: 0 } }), now)).toBeUndefined();
    expect(etaSeconds(job({ counts: { processed: 100 } }), now)).toBeUndefined();
    expect(etaSeconds(job({ state: "done" }), now)).toBeUndefined();
  });
});

describe("charts", () => {
  it("rounds the y axis up to 1, 2, 2.5 or 5 times a power of ten", () => {
    expect([0, 0.4, 3, 7, 11, 240, 980].map(niceMax)).toEqual([1, 0.5, 5, 10, 20, 250, 1000]);
  });

  it("fills every bucket of the period, zero where nothing happened", () => {
    const from = Date.parse("2026-12-07T10:00:00Z");
    const to = Date.parse("2026-12-07T13:00:00Z");
    expect(fill([{ bucket: "2026-12-07T11", n: 4 }], from, to, 3_600_000).map((p) => p.y)).toEqual([0, 4, 0, 0]);
    expect(fill([{ bucket: "2026-12-07T10:01", n: 2 }], from, from + 120_000, 60_000).map((p) => p.y)).toEqual([
      0, 2, 0,
    ]);
  });
});

describe("behind", () => {
  it("says a duration in seconds, minutes, or hours and minutes", () => {
    expect(behind(40_000)).toBe("40 s");
    expect(behind(12 * 60_000)).toBe("12 min");
    expect(behind((3 * 60 + 5) * 60_000)).toBe("3 h 5 min");
    expect(behind(-5)).toBe("0 s");
  });
});

describe("modeDone", () => {
  it("summarises a start: the first catch-up per mapping and the held changes sent", () => {
    const text = modeDone("start", {
      status: 200,
      body: {
        changed: true,
        delivery: { state: "sent", sent: 12 },
        first_catch_up: [
          { mapping: "people", salesforce: { ok: true, records: 3 }, attio: { ok: true, records: 1840, linked: 40 } },
          { mapping: "deals", salesforce: { ok: false }, attio: { ok: false } },
        ],
      },
    });
    expect(text).toBe(
      "Started: the sync now writes to both CRMs. 12 held change(s) sent. First catch-up: people: 3 changed in Salesforce, 1800 unlinked in Attio; deals: Salesforce not counted, Attio not counted.",
    );
  });

  it("says when nothing changed, and nothing for a refusal (the API's message is shown instead)", () => {
    expect(modeDone("start", { status: 200, body: { changed: false } })).toBe("Already running.");
    expect(modeDone("pause", { status: 200, body: { changed: false } })).toBe("Already paused.");
    expect(modeDone("resume", { status: 200, body: { delivery: { sent: 2 } } })).toBe(
      "Resumed: the sync writes again. 2 held change(s) sent.",
    );
    expect(modeDone("resume", { status: 409, body: {} })).toBe("");
  });
});

describe("metric charts", () => {
  const answer = {
    since: "2026-12-07T00:00:00.000Z",
    series: [
      {
        metric: "lag_seconds",
        subject: "salesforce:Contact",
        points: [
          { at: "2026-12-07T10:00:00.000Z", value: 90 },
          { at: "2026-12-07T10:05:00.000Z", value: 400 },
        ],
      },
      { metric: "queue_backlog", subject: "all", points: [{ at: "2026-12-07T10:00:00.000Z", value: 7 }] },
      { metric: "lag_seconds", subject: "attio:deals", points: [{ at: "2026-12-07T10:00:00.000Z", value: 30 }] },
    ],
  };
  const mappings = [{ name: "people", attio_object: "people", salesforce_object: "Contact" }];

  it("draws one metric's series in minutes, named for the mapping and side, each in its own style", () => {
    const lag = metricSeries(answer, "lag_seconds", lagName(mappings), 60);
    expect(lag.map((s) => s.name)).toEqual(["people (Salesforce side)", "attio:deals"]);
    expect(lag[0]?.points).toEqual([
      { t: Date.parse("2026-12-07T10:00:00.000Z"), y: 1.5 },
      { t: Date.parse("2026-12-07T10:05:00.000Z"), y: 6.7 },
    ]);
    expect(lag[0]?.color).not.toBe(lag[1]?.color);
    expect(lag[1]?.dash).toBeDefined();
    expect(metricSeries(answer, "queue_backlog", () => "backlog")).toEqual([
      { name: "backlog", color: "#2e6da4", points: [{ t: Date.parse("2026-12-07T10:00:00.000Z"), y: 7 }] },
    ]);
  });

  it("draws nothing when the API answered nothing", () => {
    expect(metricSeries(undefined, "lag_seconds", String)).toEqual([]);
    expect(lagName(null)("attio:people")).toBe("attio:people");
    expect(lagName(mappings)("attio:people")).toBe("people (Attio side)");
  });
});

describe("metric charts without data", () => {
  const range = { from: 0, to: 86_400_000 };
  const html = (node: unknown) => String(node);

  it("says why a chart is empty: no samples yet, the route missing, or the API's error", async () => {
    const none = { status: 200, body: { since: "", series: [] } };
    expect(html(await LagChart({ answer: none, mappings: [], ...range }))).toContain("No lag sampled yet");
    expect(html(await BacklogChart({ answer: none, ...range }))).not.toContain("<svg");
    const missing = { status: 404, body: { error: { message: "No route for GET /api/v1/metrics" } } };
    expect(html(await BudgetCharts({ answer: missing as never, ...range }))).toContain(
      "Not available on this deployment",
    );
    const failed = { status: 503, body: { error: { message: "D1 does not answer" } } };
    expect(html(await LagChart({ answer: failed as never, mappings: [], ...range }))).toContain("D1 does not answer");
  });

  it("draws a level's latest sample as a dot and states it as the latest value", async () => {
    const one = {
      status: 200,
      body: {
        since: "",
        series: [{ metric: "queue_backlog", subject: "all", points: [{ at: "1970-01-01T12:00:00.000Z", value: 4 }] }],
      },
    };
    const out = html(await BacklogChart({ answer: one, ...range }));
    expect(out).toContain("<circle");
    expect(out).toContain("Latest values: Messages waiting (estimate): 4.");
  });
});

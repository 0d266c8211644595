import { describe, expect, it } from "vitest";
import { createdByIntent, type IntentCandidate } from "../../../src/plan/intent-match.ts";

const at = "2026-11-01T10:00:00.000Z";
const candidate = (id: string, createdAt: string, values: Record<string, unknown>): IntentCandidate => ({
  id,
  createdAt,
  values,
});

describe("createdByIntent: what an earlier attempt of a create made", () => {
  it("finds the record holding every value written, created since the intent", () => {
    const found = createdByIntent(
      { Name: "Acme", Description: null, NumberOfEmployees: 50 },
      at,
      [
        candidate("001OTHER", "2026-11-01T10:00:01.000Z", { Name: "Other", NumberOfEmployees: 50 }),
        candidate("001ACME", "2026-11-01T10:00:02.000Z", { Name: "Acme", NumberOfEmployees: "50", Description: "x" }),
      ],
      new Set(),
    );
    expect(found).toBe("001ACME");
  });

  it("leaves out records created well before the intent (beyond the clock skew) and records already paired", () => {
    const old = candidate("001OLD", "2026-11-01T09:00:00.000Z", { Name: "Acme" });
    const paired = candidate("001PAIRED", "2026-11-01T10:00:01.000Z", { Name: "Acme" });
    expect(createdByIntent({ Name: "Acme" }, at, [old, paired], new Set(["001PAIRED"]))).toBeUndefined();
    const skewed = candidate("001SKEW", "2026-11-01T09:59:30.000Z", { Name: "Acme" });
    expect(createdByIntent({ Name: "Acme" }, at, [skewed], new Set())).toBe("001SKEW");
  });

  it("gives equal intents one record each, earliest first, as the caller marks each found one taken", () => {
    const candidates = [
      candidate("001B", "2026-11-01T10:00:05.000Z", { Name: "Acme" }),
      candidate("001A", "2026-11-01T10:00:01.000Z", { Name: "Acme" }),
    ];
    const taken = new Set<string>();
    const first = createdByIntent({ Name: "Acme" }, at, candidates, taken);
    taken.add(first ?? "");
    expect([first, createdByIntent({ Name: "Acme" }, at, candidates, taken)]).toEqual(["001A", "001B"]);
  });

  it("takes a value stored in another form as written: a time's offset, a phone's spacing, a URL's scheme", () => {
    const stored = candidate("003X", "2026-11-01T10:00:01.000Z", {
      Phone: "+442079460321",
      Website: "acme.example",
      Due__c: "2026-11-02T09:00:00.000+0000",
    });
    const marker = { Phone: "+44 20 7946 0321", Website: "https://www.acme.example", Due__c: "2026-11-02T09:00:00Z" };
    expect(createdByIntent(marker, at, [stored], new Set())).toBe("003X");
    expect(createdByIntent({ ...marker, Phone: "+44 20 7946 0322" }, at, [stored], new Set())).toBeUndefined();
  });

  it("finds nothing for an intent that wrote no value, or a value read back empty", () => {
    const any = [candidate("001X", "2026-11-01T10:00:01.000Z", { Name: "Acme", Amount: null })];
    expect(createdByIntent({ Name: null, Website: "" }, at, any, new Set())).toBeUndefined();
    expect(createdByIntent({ Name: "Acme", Amount: 0 }, at, any, new Set())).toBeUndefined();
  });
});

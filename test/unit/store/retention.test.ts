import { env } from "cloudflare:workers";
import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDb } from "../../../src/store/db.ts";
import { pruneRetained } from "../../../src/store/retention.ts";
import { failures } from "../../../src/store/schema.ts";

const db = openDb(env.DB);

describe("pruneRetained", () => {
  it("deletes at most a step's limit per run: a backlog drains over the next runs", async () => {
    const ids = [1, 2, 3].map((n) => `bounded-${n}-${crypto.randomUUID()}`);
    await db.insert(failures).values(
      ids.map((id) => ({
        id,
        status: "dismissed" as const,
        messageKind: "attio.record",
        message: {},
        errorCode: "x",
        errorMessage: "x",
        attempts: 1,
        correlationId: "c",
        lastFailedAt: "1999-01-01T00:00:00.000Z",
      })),
    );
    const step = { target: "failures", before: "2000-01-01T00:00:00.000Z", states: ["dismissed"], limit: 2 } as const;
    const left = async () => (await db.select().from(failures).where(inArray(failures.id, ids))).length;

    expect(await pruneRetained(db, [step])).toEqual({ failures: 2 });
    expect(await left()).toBe(1);
    expect(await pruneRetained(db, [step])).toEqual({ failures: 1 });
    expect(await left()).toBe(0);
    expect(await pruneRetained(db, [])).toEqual({});
  });
});

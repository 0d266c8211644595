import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SyncError } from "../../src/lib/errors.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { loadFailure, recordFailure } from "../../src/store/failures.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

// A replayed message is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());
beforeEach(() => {
  clearTokenCache();
  server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
});
const db = openDb(env.DB);

async function call(method: string, path: string, body?: unknown) {
  const response = await exports.default.fetch(`https://worker.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("/api/v1/failures", () => {
  it("lists no failure as cleared and no warning as replayed: those states do not exist for them", async () => {
    expect((await call("GET", "/failures?status=cleared")).body).toEqual({ items: [], next_cursor: null });
    expect((await call("GET", "/failures?severity=warning&status=replayed")).body).toEqual({
      items: [],
      next_cursor: null,
    });
  });

  it("answers 404 naming the id when there is nothing to dismiss or replay", async () => {
    const dismiss = await call("POST", "/failures/no-such-id/dismiss");
    expect(dismiss.status).toBe(404);
    expect(dismiss.body).toMatchObject({
      error: { code: "not_found", message: "no open failure or warning no-such-id" },
    });
    const replay = await call("POST", "/failures/no-such-id/replay");
    expect(replay.status).toBe(404);
    expect(replay.body).toMatchObject({ error: { code: "not_found", message: "no failure no-such-id" } });
  });

  it("a bulk replay sends the stored messages still valid, and skips (and keeps) one that no longer is", async () => {
    const kind = `replay-test-${crypto.randomUUID().slice(0, 8)}`;
    const valid = crypto.randomUUID();
    const stale = crypto.randomUUID();
    await recordFailure(db, {
      id: valid,
      messageKind: kind,
      message: personChanged("p-replayed"),
      error: new SyncError("upstream_rejected", "first try"),
      attempts: 1,
      correlationId: "c-valid",
    });
    await recordFailure(db, {
      id: stale,
      messageKind: kind,
      message: { kind: "attio.record", shape: "from an older version" },
      error: new SyncError("upstream_rejected", "first try"),
      attempts: 1,
      correlationId: "c-stale",
    });
    const response = await call("POST", "/failures/replay", { message_kind: kind });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ replayed: 1, skipped: 1 });
    expect((await loadFailure(db, valid))?.status).toBe("replayed");
    expect((await loadFailure(db, stale))?.status).toBe("open");
  });
});

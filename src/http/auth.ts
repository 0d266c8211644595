import { createMiddleware } from "hono/factory";
import { SyncError } from "../lib/errors.ts";
import { timingSafeEqual } from "../lib/hmac.ts";
import { errorResponse } from "./errors.ts";
import type { AppEnv } from "./types.ts";

/** Requires `Authorization: Bearer <ADMIN_TOKEN>`; compares in constant time. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (!token || !timingSafeEqual(token, c.var.config.ADMIN_TOKEN)) {
    c.header("WWW-Authenticate", 'Bearer realm="attio-sfdc"');
    return errorResponse(c, new SyncError("unauthorized", "Missing or invalid bearer token", { status: 401 }));
  }
  await next();
});

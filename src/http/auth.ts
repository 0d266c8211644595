import { createMiddleware } from "hono/factory";
import { SyncError } from "../lib/errors.ts";
import { timingSafeEqual } from "../lib/hmac.ts";
import { errorResponse } from "./errors.ts";
import type { AppEnv } from "./types.ts";

/**
 * Requires `Authorization: Bearer <token>` where the token is ADMIN_TOKEN or, during a rotation,
 * ADMIN_TOKEN_NEXT. Both comparisons always run, in constant time, so timing says nothing.
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? "";
  const current = timingSafeEqual(token, c.var.config.ADMIN_TOKEN);
  const upcoming = c.var.config.ADMIN_TOKEN_NEXT ? timingSafeEqual(token, c.var.config.ADMIN_TOKEN_NEXT) : false;
  if (!token || (!current && !upcoming)) {
    c.header("WWW-Authenticate", 'Bearer realm="attio-sfdc"');
    return errorResponse(c, new SyncError("unauthorized", "Missing or invalid bearer token", { status: 401 }));
  }
  c.set("adminTokenUsed", current ? "current" : "next");
  await next();
  return undefined;
});

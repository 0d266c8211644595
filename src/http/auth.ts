import { createMiddleware } from "hono/factory";
import { SyncError } from "../lib/errors.ts";
import { timingSafeEqual } from "../lib/hmac.ts";
import { errorResponse } from "./errors.ts";
import type { AppEnv } from "./types.ts";

/**
 * Requires `Authorization: Bearer <token>` where the token is ADMIN_TOKEN or, during a rotation,
 * ADMIN_TOKEN_NEXT; ADMIN_READ_TOKEN, when set, is accepted for GET (and HEAD) requests only and
 * answers 403 elsewhere. Every comparison always runs, in constant time, so timing says nothing.
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? "";
  const current = timingSafeEqual(token, c.var.config.ADMIN_TOKEN);
  const upcoming = c.var.config.ADMIN_TOKEN_NEXT ? timingSafeEqual(token, c.var.config.ADMIN_TOKEN_NEXT) : false;
  const reader = c.var.config.ADMIN_READ_TOKEN ? timingSafeEqual(token, c.var.config.ADMIN_READ_TOKEN) : false;
  if (!token || (!current && !upcoming && !reader)) {
    c.header("WWW-Authenticate", 'Bearer realm="attio-sfdc"');
    return errorResponse(c, new SyncError("unauthorized", "Missing or invalid bearer token", { status: 401 }));
  }
  if (!current && !upcoming && c.req.method !== "GET" && c.req.method !== "HEAD") {
    return errorResponse(
      c,
      new SyncError("unauthorized", "The read-only token (ADMIN_READ_TOKEN) can only read: use ADMIN_TOKEN", {
        status: 403,
      }),
    );
  }
  c.set("adminTokenUsed", current ? "current" : upcoming ? "next" : "read");
  await next();
  return undefined;
});

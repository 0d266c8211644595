import { Hono } from "hono";
import { VERSION } from "../lib/version.ts";
import type { AppEnv } from "./types.ts";

/** `GET /healthz`: liveness without auth; says nothing about data or configuration. */
export const health = new Hono<AppEnv>().get("/healthz", (c) => c.json({ ok: true, version: VERSION }));

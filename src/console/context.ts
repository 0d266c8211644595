import type { Context } from "hono";
import type { AppEnv } from "../http/types.ts";
import { type ApiAnswer, type ApiFetch, callApi } from "./api-client.ts";
import type { Flash } from "./layout.tsx";

/** What every signed-in console handler gets: the API, bound to the session's token, and its form token. */
export interface Session {
  c: Context<AppEnv>;
  csrf: string;
  api<T = unknown>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<ApiAnswer<T>>;
  flash: Flash;
}

export function makeSession(c: Context<AppEnv>, fetchApi: ApiFetch, token: string, csrf: string): Session {
  return {
    c,
    csrf,
    api: (method, path, body) => callApi(c, fetchApi, token, method, path, body),
    flash: { ok: short(c.req.query("ok")), error: short(c.req.query("error")) },
  };
}

/** A redirect after an action (303: the browser then GETs the page), with its outcome shown there. */
export function redirectWith(c: Context<AppEnv>, path: string, flash: Flash): Response {
  const url = new URL(path, c.req.url);
  if (flash.ok) url.searchParams.set("ok", flash.ok.slice(0, 300));
  if (flash.error) url.searchParams.set("error", flash.error.slice(0, 300));
  return c.redirect(`${url.pathname}${url.search}${url.hash}`, 303);
}

function short(value: string | undefined): string | undefined {
  return value ? value.slice(0, 300) : undefined;
}

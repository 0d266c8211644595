import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../http/types.ts";
import { hmacSha256Hex, timingSafeEqual } from "../lib/hmac.ts";

/**
 * The console's browser session: the admin token the operator signed in with, in a cookie the page's
 * scripts cannot read (HttpOnly), sent only over HTTPS (Secure; browsers treat localhost as secure),
 * never on a request started by another site (SameSite=Strict), and gone when the browser closes
 * (no Max-Age). Every console request hands it to /api/v1 as its bearer token, so the API's own
 * check (requireAdmin: ADMIN_TOKEN, ADMIN_TOKEN_NEXT, or ADMIN_READ_TOKEN for reading) decides.
 */
export const SESSION_COOKIE = "attio_sfdc_console";
const COOKIE_PATH = "/console";

export function sessionToken(c: Context<AppEnv>): string | undefined {
  const token = getCookie(c, SESSION_COOKIE);
  return token ? token : undefined;
}

export function startSession(c: Context<AppEnv>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, { path: COOKIE_PATH, httpOnly: true, secure: true, sameSite: "Strict" });
}

export function endSession(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: COOKIE_PATH, httpOnly: true, secure: true, sameSite: "Strict" });
}

/**
 * The form token of a session: an HMAC of a fixed label keyed by the session's token, so it needs
 * no storage, differs per token and reveals nothing about it. Each POST form carries it.
 */
export function csrfToken(token: string): Promise<string> {
  return hmacSha256Hex(token, "attio-sfdc console form v1");
}

export type CsrfVerdict = { ok: true } | { ok: false; why: string };

/**
 * A console POST must come from a console page: its Origin (or, without one, its Referer) is this
 * Worker's own origin, and when a session exists, its form carries the session's form token. The
 * cookie's SameSite=Strict already keeps it off cross-site requests; this holds where a browser
 * does not honour that, and against a sibling subdomain.
 */
export async function checkCsrf(
  c: Context<AppEnv>,
  session: string | undefined,
  formToken: unknown,
): Promise<CsrfVerdict> {
  const origin = new URL(c.req.url).origin;
  const claimed = c.req.header("origin") ?? originOf(c.req.header("referer"));
  if (!claimed) return { ok: false, why: "the request names no Origin" };
  if (claimed !== origin) return { ok: false, why: "the request comes from another site" };
  if (session === undefined) return { ok: true };
  const expected = await csrfToken(session);
  if (typeof formToken !== "string" || !timingSafeEqual(formToken, expected)) {
    return { ok: false, why: "the form is out of date: reload the page and try again" };
  }
  return { ok: true };
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

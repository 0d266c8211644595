/**
 * When a request may be sent again, from a Retry-After header: delta-seconds or an HTTP date
 * (Attio always sends a date, "usually the following second"). Epoch ms, never before `now`;
 * unparseable or absent: undefined.
 */
export function retryAt(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return now + Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(now, at);
}

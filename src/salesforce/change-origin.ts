/**
 * True when a change event's `changeOrigin` (`com/salesforce/api/rest/62.0;client=attio-sfdc`)
 * names our client id. This only says who started the transaction: automation in the same
 * transaction carries the same origin, so callers must still compare values before dropping.
 */
export function isOwnChange(changeOrigin: string, clientName: string): boolean {
  const client = /;client=([^;,\s]*)/.exec(changeOrigin)?.[1];
  return client === clientName;
}

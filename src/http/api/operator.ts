/** How the audit trail names the operator behind a request: by the token it used. */
export function operatorName(token: "current" | "next" | "read"): string {
  return `operator:${token === "current" ? "admin-token" : token === "next" ? "next-admin-token" : "read-token"}`;
}

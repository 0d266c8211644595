import { describe, expect, it } from "vitest";
import type { ErrorCode } from "../../../src/lib/errors.ts";
import {
  countsByReason,
  failureReason,
  heldDeleteReason,
  IssueReasonSchema,
  REASONS,
  reasonsMarkdown,
  selectorOf,
  warningReason,
} from "../../../src/sync/issue-reasons.ts";

const ERROR_CODES: ErrorCode[] = [
  "config_invalid",
  "bad_request",
  "unauthorized",
  "not_found",
  "conflict",
  "rate_limited",
  "upstream_unavailable",
  "upstream_rejected",
  "auth_failed",
  "record_busy",
  "mapping_failed",
  "internal",
];

describe("the issue reasons table", () => {
  it("gives every reason an explanation, what to do, and what retry and dismiss mean", () => {
    for (const reason of IssueReasonSchema.options) {
      const info = REASONS[reason];
      expect(info.explanation.length, reason).toBeGreaterThan(30);
      expect(info.action.length, reason).toBeGreaterThan(10);
      for (const policy of [info.retry, info.dismiss]) {
        if (policy.kind === "refused") expect(policy.route, reason).toMatch(/^POST \/api\/v1\//);
      }
    }
    expect(Object.keys(REASONS).sort()).toEqual([...IssueReasonSchema.options].sort());
  });

  it("classifies every error code a failure can hold, and an unknown one as failed_other", () => {
    for (const code of ERROR_CODES) expect(failureReason(code), code).not.toBe("failed_other");
    expect(failureReason("upstream_rejected")).toBe("write_rejected");
    expect(failureReason("not_found")).toBe("record_not_found");
    expect(failureReason("something_new")).toBe("failed_other");
    expect(failureReason("toString")).toBe("failed_other");
    expect(warningReason("unmapped_value")).toBe("unmapped_value");
    expect(warningReason("fallback_used")).toBe("warning_other");
    expect(warningReason("from_a_newer_version")).toBe("warning_other");
    expect(heldDeleteReason("mass_delete")).toBe("mass_delete_held");
  });

  it("selects each stored code in exactly one reason, the catch-alls the codes no other reason takes", () => {
    for (const code of [...ERROR_CODES, "something_new"]) {
      const owners = IssueReasonSchema.options.filter((reason) => {
        const selector = selectorOf(reason);
        if (selector.kind !== "failure") return false;
        return selector.codes ? selector.codes.includes(code) : !selector.otherThan.includes(code);
      });
      expect(owners, code).toEqual([failureReason(code)]);
    }
    for (const code of ["unmapped_value", "invalid_value", "rejected_by_salesforce", "fallback_used", "odd"]) {
      const owners = IssueReasonSchema.options.filter((reason) => {
        const selector = selectorOf(reason);
        if (selector.kind !== "warning") return false;
        return selector.codes ? selector.codes.includes(code) : !selector.otherThan.includes(code);
      });
      expect(owners, code).toEqual([warningReason(code)]);
    }
    expect(selectorOf("merge_held")).toEqual({ kind: "held_delete", holds: ["merged_into_linked"] });
  });

  it("refuses to retry conflicts and held deletes, and to dismiss held deletes, naming the route", () => {
    expect(REASONS.conflict_held.retry).toMatchObject({ kind: "refused", route: "POST /api/v1/conflicts/{id}" });
    expect(REASONS.conflict_held.dismiss.kind).toBe("dismiss");
    expect(REASONS.mass_delete_held.dismiss).toMatchObject({
      kind: "refused",
      route: "POST /api/v1/deletes/batches/{batch_id}",
    });
    expect(REASONS.write_rejected.retry.kind).toBe("replay");
    expect(REASONS.unmapped_value.retry.kind).toBe("resync");
    expect(REASONS.ambiguous_match.retry.kind).toBe("resync");
  });

  it("folds stored counts into groups in the table's order, leaving out empty ones", () => {
    expect(
      countsByReason({
        failures: [
          { code: "rate_limited", n: 2 },
          { code: "upstream_unavailable", n: 3 },
          { code: "upstream_rejected", n: 1 },
          { code: "legacy", n: 4 },
        ],
        warnings: [{ code: "invalid_value", n: 5 }],
        conflicts: 0,
        heldDeletes: [{ reason: "mass_delete", n: 25 }],
        ambiguousMatches: 1,
      }),
    ).toEqual([
      { reason: "write_rejected", count: 1 },
      { reason: "api_unavailable", count: 5 },
      { reason: "failed_other", count: 4 },
      { reason: "invalid_value", count: 5 },
      { reason: "mass_delete_held", count: 25 },
      { reason: "ambiguous_match", count: 1 },
    ]);
  });

  it("renders every reason for docs/TROUBLESHOOTING.md", () => {
    const doc = reasonsMarkdown();
    for (const reason of IssueReasonSchema.options) expect(doc).toContain(`### \`${reason}\``);
  });
});

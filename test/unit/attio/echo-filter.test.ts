import { describe, expect, it } from "vitest";
import { echoFilterPlan, type WebhookSubscription } from "../../../src/attio/echo-filter.ts";

const OURS = "7e2d4c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f";
const notOurs = { field: "actor.id", operator: "not_equals", value: OURS } as const;

describe("echoFilterPlan", () => {
  it.each<{ name: string; given: WebhookSubscription["filter"]; expected: WebhookSubscription["filter"] }>([
    { name: "no filter: one $and with our condition", given: null, expected: { $and: [notOurs] } },
    {
      name: "an $and keeps its conditions and gains ours",
      given: { $and: [{ field: "actor.type", operator: "equals", value: "workspace-member" }] },
      expected: { $and: [{ field: "actor.type", operator: "equals", value: "workspace-member" }, notOurs] },
    },
    {
      name: "another actor's exclusion is not ours",
      given: { $and: [{ field: "actor.id", operator: "not_equals", value: "another-integration" }] },
      expected: { $and: [{ field: "actor.id", operator: "not_equals", value: "another-integration" }, notOurs] },
    },
  ])("$name", ({ given, expected }) => {
    const plan = echoFilterPlan([{ event_type: "record.updated", filter: given }], OURS);

    expect(plan).toEqual({
      subscriptions: [{ event_type: "record.updated", filter: expected }],
      changed: true,
      unfilterable: [],
    });
  });

  it("changes nothing when every record subscription already leaves our actor out", () => {
    const subscriptions: WebhookSubscription[] = [
      { event_type: "record.created", filter: { $and: [notOurs] } },
      {
        event_type: "record.updated",
        filter: { $and: [{ field: "id.attribute_id", operator: "equals", value: "a" }, notOurs] },
      },
    ];

    expect(echoFilterPlan(subscriptions, OURS)).toEqual({ subscriptions, changed: false, unfilterable: [] });
  });

  it("leaves an $or filter alone and names it: a condition added to it would let more through", () => {
    const or: WebhookSubscription = {
      event_type: "record.deleted",
      filter: { $or: [{ field: "actor.type", operator: "equals", value: "workspace-member" }] },
    };

    const plan = echoFilterPlan([or, { event_type: "record.created", filter: null }], OURS);

    expect(plan.subscriptions).toEqual([or, { event_type: "record.created", filter: { $and: [notOurs] } }]);
    expect(plan.changed).toBe(true);
    expect(plan.unfilterable).toEqual(["record.deleted"]);
  });

  it("leaves subscriptions other than our writes' record events as they are (merges: we never merge)", () => {
    const subscriptions: WebhookSubscription[] = [
      { event_type: "object-attribute.updated", filter: null },
      { event_type: "list-entry.created", filter: null },
      { event_type: "record.merged", filter: null },
    ];

    expect(echoFilterPlan(subscriptions, OURS)).toEqual({ subscriptions, changed: false, unfilterable: [] });
  });
});

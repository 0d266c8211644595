import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../../scripts/sandbox/stack.ts";
import { attioRecords, control, eventually, salesforceRecords } from "./helpers.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ seed: 11 });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe("end to end against the sandbox: emulators + wrangler dev", () => {
  it("a person created in Attio appears as a Contact in Salesforce with mapped fields", async () => {
    await control(stack.attio.url, "edit", {
      object: "people",
      values: {
        name: { first_name: "Ines", last_name: "Carvalho", full_name: "Ines Carvalho" },
        email_addresses: ["ines.carvalho@lumen-freight.example"],
        job_title: "Head of Logistics",
      },
    });

    const contact = await eventually("Contact in Salesforce", async () =>
      (await salesforceRecords(stack, "Contact")).find((c) => c["Email"] === "ines.carvalho@lumen-freight.example"),
    );
    expect(contact).toMatchObject({ FirstName: "Ines", LastName: "Carvalho", Title: "Head of Logistics" });
  });

  it("a Contact edited in Salesforce is reflected in Attio", async () => {
    const contact = await eventually("Contact in Salesforce", async () =>
      (await salesforceRecords(stack, "Contact")).find((c) => c["Email"] === "ines.carvalho@lumen-freight.example"),
    );
    await control(stack.salesforce.url, "edit", { object: "Contact", id: contact.Id, fields: { Title: "COO" } });

    const person = await eventually("Attio person with the new title", async () =>
      (await attioRecords(stack, "people")).find(
        (p) =>
          p.values["email_addresses"]?.some((e) => e["email_address"] === "ines.carvalho@lumen-freight.example") &&
          p.values["job_title"]?.[0]?.["value"] === "COO",
      ),
    );
    expect(person.values["name"]?.[0]).toMatchObject({ first_name: "Ines", last_name: "Carvalho" });
  });
});

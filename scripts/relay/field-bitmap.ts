import type { SchemaField } from "./avro.ts";

/**
 * Turns Pub/Sub's changedFields/nulledFields/diffFields bitmaps into field names.
 *
 * The first element, when it starts with "0x", is a bitmap over the top-level fields of the event
 * schema (bit i = field i, least significant bit first). Further elements "{parentIndex}-{0xbitmap}"
 * cover the children of a compound field and decode to "Parent.Child" (e.g. "BillingAddress.City").
 * See Salesforce's "Event Deserialization Considerations" for the format.
 */
export function decodeFieldBitmaps(fields: readonly SchemaField[], bitmaps: readonly string[]): string[] {
  const names: string[] = [];
  for (const entry of bitmaps) {
    if (entry.startsWith("0x")) {
      names.push(
        ...namesFromBitmap(
          entry,
          fields.map((field) => field.name),
        ),
      );
      continue;
    }
    const dash = entry.indexOf("-");
    if (dash <= 0) throw new Error(`unrecognised field bitmap entry "${entry}"`);
    const parentIndex = Number(entry.slice(0, dash));
    const parent = fields[parentIndex];
    if (!Number.isInteger(parentIndex) || parent === undefined) {
      throw new Error(
        `field bitmap "${entry}" points at field ${entry.slice(0, dash)}, which the schema does not have`,
      );
    }
    for (const child of namesFromBitmap(entry.slice(dash + 1), parent.children)) names.push(`${parent.name}.${child}`);
  }
  return names;
}

function namesFromBitmap(hex: string, names: readonly string[]): string[] {
  if (!/^0x[0-9a-fA-F]+$/.test(hex)) throw new Error(`malformed field bitmap "${hex}"`);
  let bits = BigInt(hex);
  const out: string[] = [];
  for (let index = 0; bits > 0n; index++, bits >>= 1n) {
    if ((bits & 1n) === 0n) continue;
    const name = names[index];
    if (name === undefined)
      throw new Error(`field bitmap "${hex}" sets bit ${index}, beyond the ${names.length} fields of the schema`);
    out.push(name);
  }
  return out;
}

/** The inverse of decodeFieldBitmaps, for producing real-looking events in tests and the fake server. */
export function encodeFieldBitmaps(fields: readonly SchemaField[], names: readonly string[]): string[] {
  let top = 0n;
  const nested = new Map<number, bigint>();
  for (const name of names) {
    const [parentName, childName] = name.split(".", 2);
    const index = fields.findIndex((field) => field.name === parentName);
    const field = fields[index];
    if (field === undefined) throw new Error(`no field "${parentName}" in the schema`);
    if (childName === undefined) {
      top |= 1n << BigInt(index);
      continue;
    }
    const childIndex = field.children.indexOf(childName);
    if (childIndex < 0) throw new Error(`no child "${childName}" under "${parentName}"`);
    nested.set(index, (nested.get(index) ?? 0n) | (1n << BigInt(childIndex)));
  }
  const out: string[] = [];
  if (top > 0n || nested.size > 0) out.push(`0x${top.toString(16).toUpperCase()}`);
  for (const [index, bits] of [...nested].sort((a, b) => a[0] - b[0]))
    out.push(`${index}-0x${bits.toString(16).toUpperCase()}`);
  return out;
}

/**
 * Splits items, in order, into groups of at most `maxItems` items and `maxBytes` bytes as `sizeOf`
 * counts them. An item larger than `maxBytes` gets a group of its own: the caller decides whether
 * it may be sent.
 *
 * @example packBySize(bodies, 100, 240_000, jsonBytes) // [[...100], [...]]
 */
export function packBySize<T>(
  items: readonly T[],
  maxItems: number,
  maxBytes: number,
  sizeOf: (item: T) => number,
): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (group.length > 0 && (group.length >= maxItems || bytes + size > maxBytes)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(item);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

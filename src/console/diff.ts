/** One line of a line diff: kept, added (only in the newer text) or removed (only in the older). */
export type DiffLine = { op: "same" | "add" | "del"; text: string };

/** Above this many line pairs the diff is not computed (the table would cost more than it shows). */
const MAX_CELLS = 4_000_000;

/**
 * A line diff of two texts by longest common subsequence: small configuration documents, so the
 * plain O(n·m) table is enough. Returns undefined when the texts are too long to compare this way.
 */
export function diffLines(older: string, newer: string): DiffLine[] | undefined {
  const a = older.split("\n");
  const b = newer.split("\n");
  if (a.length * b.length > MAX_CELLS) return undefined;
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] =
        a[i] === b[j]
          ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ op: "same", text: a[i] ?? "" });
      i++;
      j++;
    } else if ((lcs[(i + 1) * width + j] ?? 0) >= (lcs[i * width + j + 1] ?? 0)) {
      out.push({ op: "del", text: a[i++] ?? "" });
    } else {
      out.push({ op: "add", text: b[j++] ?? "" });
    }
  }
  while (i < a.length) out.push({ op: "del", text: a[i++] ?? "" });
  while (j < b.length) out.push({ op: "add", text: b[j++] ?? "" });
  return out;
}

/**
 * Finds the line of a key path in TOML text, so that a validation error can say where to look.
 * It understands what config files use: [table] and [[array.of.tables]] headers, `key = value` and
 * dotted or quoted keys. It is a locator only (parsing is smol-toml's job); unknown paths fall back
 * to their nearest parent.
 */

const KEY_PART = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*/y;

/** `a."b.c".d` -> ["a", "b.c", "d"], or null if the text is not a key. */
function splitKey(text: string): string[] | null {
  const parts: string[] = [];
  let index = 0;
  while (index < text.length) {
    KEY_PART.lastIndex = index;
    const match = KEY_PART.exec(text);
    if (!match) return null;
    parts.push(match[1] ?? match[2] ?? match[3] ?? "");
    index = KEY_PART.lastIndex;
    if (index < text.length) {
      if (text[index] !== ".") return null;
      index += 1;
    }
  }
  return parts.length > 0 ? parts : null;
}

/** Index from dotted path ("mappings.deals.fields.1.transform") to its 1-based line. */
export function indexTomlLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let table: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const lineNo = i + 1;
    const arrayHeader = /^\[\[(.+)\]\]\s*(#.*)?$/.exec(line);
    const header = arrayHeader ? null : /^\[(.+)\]\s*(#.*)?$/.exec(line);
    if (arrayHeader?.[1]) {
      const parts = splitKey(arrayHeader[1]);
      if (!parts) return;
      const key = parts.join(".");
      const count = arrayCounts.get(key) ?? 0;
      arrayCounts.set(key, count + 1);
      table = [...parts, String(count)];
      if (!lines.has(key)) lines.set(key, lineNo);
      lines.set(table.join("."), lineNo);
      return;
    }
    if (header?.[1]) {
      const parts = splitKey(header[1]);
      if (!parts) return;
      table = parts;
      lines.set(table.join("."), lineNo);
      return;
    }
    const eq = line.indexOf("=");
    if (eq <= 0 || line.startsWith("#")) return;
    const parts = splitKey(line.slice(0, eq));
    if (!parts) return;
    const path = [...table, ...parts].join(".");
    if (!lines.has(path)) lines.set(path, lineNo);
  });
  return lines;
}

/** The line of `path`, or of its nearest parent that has one. */
export function lineOf(index: Map<string, number>, path: readonly PropertyKey[]): number | undefined {
  const parts = path.map(String);
  for (let n = parts.length; n > 0; n--) {
    const line = index.get(parts.slice(0, n).join("."));
    if (line !== undefined) return line;
  }
  return undefined;
}

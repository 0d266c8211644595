/** Any character outside 7-bit ASCII. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * UTF-8 length of a string, without encoding it. Most text the sync sizes is ASCII (ids, JSON,
 * CSV of business data), which a native regex test answers without a loop in JavaScript.
 *
 * @example utf8Length("Zürich") // 7
 */
export function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Bytes of a value as JSON (UTF-8): what a queue message or a request body of it weighs. */
export function jsonBytes(value: unknown): number {
  return utf8Length(JSON.stringify(value) ?? "");
}

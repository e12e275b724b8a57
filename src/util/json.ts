// The first check of decoded JSON (parse, don't assert): is it a plain object? A leaf with no
// imports, so every layer (ovsdb and netlink included) may use it.

export type JsonObject = { readonly [key: string]: unknown };

/** A JSON object: not null, not an array. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A value as JSON for an error message, cut to `max` characters (never the whole of a huge or
 * hostile input); a Map by its size; what JSON cannot show (cycles, BigInt) by String().
 */
export function shortJson(v: unknown, max: number): string {
  let s: string;
  try {
    s = v instanceof Map ? `Map(${v.size})` : JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

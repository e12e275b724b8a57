// The first check of decoded JSON (parse, don't assert): is it a plain object? A leaf with no
// imports, so every layer (ovsdb and netlink included) may use it.

export type JsonObject = { readonly [key: string]: unknown };

/** A JSON object: not null, not an array. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

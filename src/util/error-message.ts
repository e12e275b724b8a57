// The text of any thrown value, for "failed to <verb> <object>: <cause>" messages. A leaf with no
// imports, so every layer may use it.

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** errorMessage with the error's stable code in front when it has one (`ENOENT: ...`, `OVSDB_TIMED_OUT: ...`). */
export function errorMessageWithCode(e: unknown): string {
  if (e instanceof Error && 'code' in e && typeof e.code === 'string') return `${e.code}: ${e.message}`;
  return errorMessage(e);
}

// Milliseconds as logs and the benchmark headers show them: to the microsecond.

export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** roundMs as header text. */
export function msText(ms: number): string {
  return String(roundMs(ms));
}

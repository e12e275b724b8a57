// A cleanup registry for tests: each step that makes something registers how to undo it, and
// `run()` (called from `finally`, since node 16's test context has no t.after) undoes them in
// reverse order. Every undo runs even when an earlier one fails; the failures are reported
// together afterwards.

import { errorMessage } from '../../src/util/error-message';

export class Cleanup {
  private readonly steps: Array<{ what: string; undo: () => Promise<unknown> }> = [];

  add(what: string, undo: () => Promise<unknown>): void {
    this.steps.push({ what, undo });
  }

  async run(): Promise<void> {
    const errors: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop();
      if (step === undefined) break;
      try {
        await step.undo();
      } catch (err) {
        errors.push(`${step.what}: ${errorMessage(err)}`);
      }
    }
    if (errors.length > 0) throw new Error(`cleanup failed:\n  ${errors.join('\n  ')}`);
  }
}

/**
 * Runs `body` with a fresh registry and always cleans up. A failure of the body wins over a
 * cleanup failure (which is then printed), so the reason a test failed is never hidden.
 */
export async function withCleanup<T>(body: (cleanup: Cleanup) => Promise<T>): Promise<T> {
  const cleanup = new Cleanup();
  let result: T;
  try {
    result = await body(cleanup);
  } catch (err) {
    await cleanup.run().catch((cleanupErr: unknown) => {
      process.stderr.write(`${errorMessage(cleanupErr)}\n`);
    });
    throw err;
  }
  await cleanup.run();
  return result;
}

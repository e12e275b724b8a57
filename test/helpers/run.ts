// Running the real tools (ip, ovs-vsctl, ovn-nbctl, docker) from e2e tests: execFile, never a
// shell, so names and addresses are passed as they are.

import { execFile } from 'node:child_process';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool and reports its exit code; never rejects because the tool failed. */
export function runResult(file: string, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      let code = 0;
      if (err) code = typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}${err.message}` : stderr });
    });
  });
}

/** Runs a tool; rejects with its stderr when it exits non-zero. Resolves to stdout. */
export async function run(file: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const r = await runResult(file, args, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`failed to run ${file} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` until it returns a value other than undefined. The bound is how long to wait
 * before calling it a failure, not a speed goal.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A short random hex suffix, so names of concurrent or leftover test runs never collide. */
export function randomSuffix(bytes = 3): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return s;
}

// How the packaged daemon runs, so benchmarks measure that and not a plain `node main.js`:
// the RPM's launcher (spec/ovn-driver.spec, checked by test/integration/rpm.test.ts) gives node
// these flags and environment, and the systemd unit gives the process its Nice= value.
//
// The launcher's memory settings: a 1 MB young generation (V8 then also returns the monitor
// reply's garbage within seconds of going idle), glibc returning buffers of 32 KiB and more to
// the system when freed (the socket's 64 KiB reads of a large monitor reply otherwise stay in a
// fragmented malloc heap), and two malloc arenas instead of one per V8 worker thread. Plain
// environment variables, read by every glibc, el7's 2.17 included.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const DEPLOYED_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
export const DEPLOYED_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '32768', MALLOC_ARENA_MAX: '2' };
export const UNIT_FILE = path.resolve(__dirname, '../../../systemd/ovn-driver.service');

/** The unit's Nice= value (0 when it sets none). */
export function unitNice(unitText = readFileSync(UNIT_FILE, 'utf8')): number {
  const m = /^Nice=(-?\d+)\s*$/m.exec(unitText);
  return m?.[1] === undefined ? 0 : Number(m[1]);
}

/** The deployed settings in one line, for a benchmark's header. */
export function deployedSettings(): string {
  return `${DEPLOYED_NODE_FLAGS.join(' ')} ${Object.entries(DEPLOYED_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} nice ${unitNice()}`;
}

// A lock over this whole machine for e2e suites that change what every suite shares (a second
// host on fixed TCP ports and addresses; the cluster's external network and host 1's bridge
// mapping): a directory under /run/lock holding its owner's pid, made atomically (renamed into
// place with the pid inside), waited for while its owner lives, taken over when the owner is gone.
// Released in cleanup. Suites of other worktrees do not take it: `busy` can tell of those.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Cleanup } from './cleanup';
import { sleep } from './run';

export interface LockOptions {
  /** How long to wait for the owner to finish before failing. */
  readonly waitMs: number;
  /** Another sign that the shared thing is in use (undefined: free), checked while waiting. */
  readonly busy?: () => Promise<string | undefined>;
  /** Told once when the lock has to be waited for. */
  readonly say?: (line: string) => void;
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes /run/lock/NAME for this process; `what` names the shared thing in messages. */
export async function takeMachineLock(cleanup: Cleanup, name: string, what: string, opts: LockOptions): Promise<void> {
  const dir = `/run/lock/${name}`;
  const deadline = Date.now() + opts.waitMs;
  let told = false;
  for (;;) {
    let holder = await opts.busy?.();
    if (holder === undefined) {
      const mine = await fs.mkdtemp(`${dir}.new-`);
      await fs.writeFile(path.join(mine, 'pid'), `${process.pid}\n`);
      try {
        await fs.rename(mine, dir);
        cleanup.add(`release ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
        return;
      } catch (e) {
        await fs.rm(mine, { recursive: true, force: true });
        if (!(e instanceof Error) || !('code' in e) || (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST')) throw e;
      }
      const owner = Number((await fs.readFile(path.join(dir, 'pid'), 'utf8').catch(() => '')).trim());
      if (!alive(owner)) {
        // Its owner is gone (a killed run): a stale lock.
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      holder = `pid ${owner} holds ${dir}`;
    }
    if (Date.now() >= deadline) throw new Error(`${what} is in use (${holder}) and stayed so for ${opts.waitMs / 1000} s: only one suite may use it at a time`);
    if (!told) opts.say?.(`waiting for ${what}: ${holder}`);
    told = true;
    await sleep(1_000);
  }
}

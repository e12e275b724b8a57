// The daemon's attack surface: a root-only plugin socket (0600), no start-up in a directory other
// users can write, no TCP listener unless asked for, and then only on loopback. The daemons run
// in their own namespace against their own databases; sockets are found through /proc/PID.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { withCleanup } from '../helpers/cleanup';
import { startIsolatedDaemon } from '../helpers/isolated-daemon';
import { makeTempDir } from '../helpers/ovsdb-server';
import { run } from '../helpers/run';
import { MAIN_JS } from '../helpers/stack';

interface Listener {
  readonly local: string;
  readonly inode: string;
}

/** TCP sockets in LISTEN state (st 0A) that belong to `pid`, from /proc/PID/net/tcp{,6}. */
async function tcpListeners(pid: number): Promise<Listener[]> {
  const inodes = new Set<string>();
  for (const fd of await fs.readdir(`/proc/${pid}/fd`)) {
    const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[([0-9]+)\]$/.exec(target);
    if (m?.[1] !== undefined) inodes.add(m[1]);
  }
  const out: Listener[] = [];
  for (const file of ['tcp', 'tcp6']) {
    const text = await fs.readFile(`/proc/${pid}/net/${file}`, 'utf8');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [local, st, inode] = [cols[1], cols[3], cols[9]];
      if (local !== undefined && st === '0A' && inode !== undefined && inodes.has(inode)) out.push({ local, inode });
    }
  }
  return out;
}

function exitOf(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    // Start-up failures are logged (stdout) as well as usage errors (stderr): read both.
    const child = spawn(process.execPath, [MAIN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

test('the plugin socket is root-only and no TCP listener exists by default', { timeout: 60_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const d = await startIsolatedDaemon(cleanup);
    const st = await fs.stat(d.socketPath);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600, `mode ${(st.mode & 0o777).toString(8)}`);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, 0);
    assert.deepEqual(await tcpListeners(d.pid()), []);
  });
});

test('start-up is refused when the socket directory is writable by other users', { timeout: 60_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const dir = await makeTempDir('ovn-sec-');
    cleanup.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
    for (const mode of [0o777, 0o757, 0o1777]) {
      const sockDir = path.join(dir, `d${mode.toString(8)}`);
      await fs.mkdir(sockDir);
      await fs.chmod(sockDir, mode);
      const socketPath = path.join(sockDir, 'ovn.sock');
      // Unreachable databases: the directory check comes first, so this never waits for them.
      const r = await exitOf(['--socket', socketPath, '--ovsdb', `unix:${path.join(dir, 'none.sock')}`, '--nb', `unix:${path.join(dir, 'none.sock')}`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /writable by other users/, `mode ${mode.toString(8)}: ${r.stderr}`);
      await assert.rejects(fs.stat(socketPath), /ENOENT/, 'no socket was created');
    }
  });
});

test('--tcp-listen takes loopback addresses only, and then listens there alone', { timeout: 60_000 }, async () => {
  for (const bad of ['0.0.0.0:9898', '[::]:9898', '198.18.0.1:9898', 'localhost.example:9898']) {
    const r = await exitOf(['--tcp-listen', bad]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--tcp-listen/);
  }
  await withCleanup(async (cleanup) => {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const d = await startIsolatedDaemon(cleanup, { extraArgs: ['--tcp-listen', `127.0.0.1:${port}`] });
    const listeners = await tcpListeners(d.pid());
    // 127.0.0.1 in /proc/net/tcp's little-endian hex, and the port in hex.
    assert.deepEqual(listeners.map((l) => l.local), [`0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`]);
    const answer = await run('ip', ['netns', 'exec', d.netns, 'curl', '-s', '--max-time', '10', '-X', 'POST', `http://127.0.0.1:${port}/Plugin.Activate`]);
    assert.deepEqual(JSON.parse(answer), { Implements: ['NetworkDriver', 'IpamDriver'] });
  });
});

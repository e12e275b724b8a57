// The daemon (dist/src/main.js) as a process, on private ovsdb-servers: its socket is root-only,
// a stale socket file is replaced, a live one or a world-writable directory stops start-up with
// a clear message, and SIGTERM (with an idle keep-alive connection open, as Docker keeps one)
// ends it with status 0 and no socket file left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, strMap } from '../../src/ovsdb/operations';
import { NB_SCHEMA, startStandalone, VSWITCH_SCHEMA, withCleanup, Defer } from '../helpers/ovsdb-server';
import { MAIN_JS, pluginActive, postPlugin, startDriver } from '../helpers/stack';

async function privateDatabases(defer: Defer): Promise<string[]> {
  const nb = await startStandalone(NB_SCHEMA);
  defer(() => nb.close());
  const ovs = await startStandalone(VSWITCH_SCHEMA);
  defer(() => ovs.close());
  const c = new OvsdbClient({ remotes: ovs.remote, database: 'Open_vSwitch' });
  await c.connect();
  await c.transact([insert('Bridge', { name: 'br-int' }, 'br'), insert('Open_vSwitch', { bridges: [namedUuid('br')], external_ids: strMap({ 'system-id': 'daemon-test', 'ovn-nb': nb.remote }) })]);
  await c.close();
  return ['--ovsdb', ovs.remote, '--db-timeout', '5', '--reconcile-interval', '0'];
}

/** Runs the daemon expecting it to stop by itself; returns its exit code and output. */
function runToExit(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function tempDir(defer: Defer, mode = 0o755): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-daemon-'));
  await fs.chmod(dir, mode);
  defer(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('socket: 0600, a stale file replaced, SIGTERM with a keep-alive connection open exits 0 and removes it', { timeout: 60_000 }, async () => {
  await withCleanup(async (defer) => {
    const args = await privateDatabases(defer);
    const dir = await tempDir(defer);
    const socketPath = path.join(dir, 'ovn.sock');
    // A socket file whose server is gone, as a killed daemon leaves it.
    await new Promise<void>((resolve, reject) => {
      const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
      holder.stdout.once('data', () => holder.kill('SIGKILL'));
      holder.once('exit', () => resolve());
      holder.once('error', reject);
    });
    assert.ok((await fs.lstat(socketPath)).isSocket());
    const driver = await startDriver({ socketPath, extraArgs: args });
    defer(() => driver.stop());
    const st = await fs.stat(socketPath);
    assert.equal(st.mode & 0o777, 0o600);
    const agent = new http.Agent({ keepAlive: true });
    defer(() => agent.destroy());
    await new Promise<void>((resolve, reject) => {
      http.request({ socketPath, agent, method: 'POST', path: '/Plugin.Activate' }, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject).end();
    });
    const exited = new Promise<number | null>((resolve) => {
      const poll = setInterval(() => {
        try {
          process.kill(driver.pid, 0);
        } catch {
          clearInterval(poll);
          resolve(null);
        }
      }, 20);
    });
    process.kill(driver.pid, 'SIGTERM');
    await exited;
    await assert.rejects(fs.lstat(socketPath), /ENOENT/);
    assert.match(driver.output(), /received SIGTERM: finishing requests in flight/);
  });
});

test('a live socket or a world-writable directory stops start-up with a clear message', { timeout: 60_000 }, async () => {
  await withCleanup(async (defer) => {
    const args = await privateDatabases(defer);
    const dir = await tempDir(defer);
    const socketPath = path.join(dir, 'ovn.sock');
    const driver = await startDriver({ socketPath, extraArgs: args });
    defer(() => driver.stop());
    const second = await runToExit(['--socket', socketPath, ...args]);
    assert.equal(second.code, 1);
    assert.match(second.output, /failed to create plugin socket ".*ovn\.sock": another process is serving it/);
    assert.equal(await pluginActive(socketPath), true, 'the first daemon lost its socket');

    const open = await tempDir(defer, 0o777);
    const refused = await runToExit(['--socket', path.join(open, 'ovn.sock'), ...args]);
    assert.equal(refused.code, 1);
    assert.match(refused.output, /failed to use plugin socket directory ".*": it is writable by other users.*chmod o-w/);
  });
});

test('with its local database unreachable the daemon serves at once: Activate answers, and each call that needs the databases says what it waits for', { timeout: 60_000 }, async () => {
  await withCleanup(async (defer) => {
    const dir = await tempDir(defer);
    const socketPath = path.join(dir, 'ovn.sock');
    const absent = `unix:${path.join(dir, 'no-ovsdb.sock')}`;
    const driver = await startDriver({ socketPath, extraArgs: ['--ovsdb', absent, '--db-timeout', '1', '--reconcile-interval', '0'] });
    defer(() => driver.stop());
    assert.ok(await pluginActive(socketPath));
    const caps = await postPlugin(socketPath, '/NetworkDriver.GetCapabilities', '{}');
    assert.equal(caps.status, 200, caps.body);
    const netId = 'ab'.repeat(32);
    const body = JSON.stringify({ NetworkID: netId, Options: {}, IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '198.18.77.0/24', Gateway: '198.18.77.1/24' }], IPv6Data: [] });
    const created = await postPlugin(socketPath, '/NetworkDriver.CreateNetwork', body);
    assert.equal(created.status, 503, created.body);
    const err: unknown = JSON.parse(created.body);
    assert.ok(err !== null && typeof err === 'object' && 'Err' in err && typeof err.Err === 'string', created.body);
    assert.match(err.Err, new RegExp(`failed to create network "${netId}": the driver is still waiting for the local Open_vSwitch database at ${absent.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*nothing was done.*ovn-driver doctor`));
    assert.match(driver.output(), /still waiting for the local Open_vSwitch database/);
  });
});

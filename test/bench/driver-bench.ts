// Benchmark (prints figures, asserts nothing): the lifecycle Docker sends for one container —
// CreateEndpoint, Join, EndpointOperInfo, Leave, DeleteEndpoint — N times through the plugin
// socket of a real daemon on the real stack, first with an empty Northbound, then with 30,000
// other logical ports present. Join's wait for ovn-installed is shown apart (the daemon reports
// it in the x-ovn-driver-ready-wait-ms header). Run: N=300 node dist/test/bench/driver-bench.js
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { cond, del, insert, mutate, Operation, strMap } from '../../src/ovsdb/operations';
import { run } from '../helpers/run';
import { startDriver } from '../helpers/stack';

const N = Number(process.env['N'] ?? 300);
const OTHER_PORTS = Number(process.env['OTHER_PORTS'] ?? 30_000);
const NB = process.env['OVN_NB'] ?? 'unix:/var/run/ovn/ovnnb_db.sock';
const REPO = path.resolve(__dirname, '../../..');
const CALLS = ['CreateEndpoint', 'Join', 'EndpointOperInfo', 'Leave', 'DeleteEndpoint'] as const;

const hex = (): string => randomBytes(32).toString('hex');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(socketPath: string, call: string, body: object): Promise<{ status: number; text: string; readyWait: number }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, agent, path: `/NetworkDriver.${call}`, method: 'POST', headers: { 'Content-Length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, readyWait: Number(res.headers['x-ovn-driver-ready-wait-ms'] ?? 0) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const f = (ms: number): string => ms.toFixed(2).padStart(8);

/** The daemon's CPU time so far (user + system, ms), from /proc: its own cost, apart from the servers'. */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await fs.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in 1/100 s
}

async function lifecycle(socketPath: string, pid: number, label: string): Promise<{ setupP50: number }> {
  const netId = hex();
  const t: Record<string, number[]> = Object.fromEntries([...CALLS, 'Join ready wait', 'Join without wait', 'total', 'total without wait'].map((c) => [c, []]));
  const must = async (call: string, body: object): Promise<{ ms: number; readyWait: number }> => {
    const started = process.hrtime.bigint();
    const r = await post(socketPath, call, body);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (r.status !== 200) throw new Error(`${call} failed: ${r.status} ${r.text}`);
    return { ms, readyWait: r.readyWait };
  };
  await must('CreateNetwork', { NetworkID: netId, Options: {}, IPv4Data: [{ Pool: '198.18.64.0/18', Gateway: '198.18.64.1/18' }], IPv6Data: [] });
  const cpuBefore = await cpuMs(pid);
  try {
    for (let i = 0; i < N; i++) {
      const ep = hex();
      const ip = `198.18.${64 + Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
      const ids = { NetworkID: netId, EndpointID: ep };
      const c = await must('CreateEndpoint', { ...ids, Interface: { Address: `${ip}/18`, AddressIPv6: '', MacAddress: '' }, Options: {} });
      const j = await must('Join', { ...ids, SandboxKey: '/var/run/docker/netns/bench00000000', Options: {} });
      const o = await must('EndpointOperInfo', ids);
      const l = await must('Leave', ids);
      const d = await must('DeleteEndpoint', ids);
      t['CreateEndpoint']?.push(c.ms);
      t['Join']?.push(j.ms);
      t['Join ready wait']?.push(j.readyWait);
      t['Join without wait']?.push(j.ms - j.readyWait);
      t['EndpointOperInfo']?.push(o.ms);
      t['Leave']?.push(l.ms);
      t['DeleteEndpoint']?.push(d.ms);
      const total = c.ms + j.ms + o.ms + l.ms + d.ms;
      t['total']?.push(total);
      t['total without wait']?.push(total - j.readyWait);
    }
  } finally {
    await must('DeleteNetwork', { NetworkID: netId });
  }
  const cpu = (await cpuMs(pid)) - cpuBefore;
  console.log(`\n${label}: ${N} lifecycles (ms); daemon CPU ${(cpu / N).toFixed(2)} ms per lifecycle`);
  console.log(`${'call'.padEnd(20)}     p50      p99`);
  for (const [name, xs] of Object.entries(t)) console.log(`${name.padEnd(20)} ${f(pct(xs, 50))} ${f(pct(xs, 99))}`);
  // "Setup": what a container start costs in the driver besides the wait for ovn-controller.
  const setup = (t['CreateEndpoint'] ?? []).map((x, i) => x + (t['Join without wait']?.[i] ?? 0));
  console.log(`${'setup w/o wait'.padEnd(20)} ${f(pct(setup, 50))} ${f(pct(setup, 99))}   (CreateEndpoint + Join - ready wait)`);
  return { setupP50: pct(setup, 50) };
}

/** 30,000 ports on a switch of their own, in a few big transactions; removed afterwards. */
async function withOtherPorts<T>(count: number, body: () => Promise<T>): Promise<T> {
  const nb = new OvsdbClient({ remotes: NB, database: 'OVN_Northbound', requestTimeoutMs: 120_000 });
  await nb.connect();
  const name = `bench-others-${randomBytes(4).toString('hex')}`;
  const started = Date.now();
  try {
    await nb.transact([insert('Logical_Switch', { name, external_ids: strMap({ 'ovn-driver-bench': 'true' }) })]);
    const batch = 5000;
    for (let b = 0; b < count; b += batch) {
      const ops: Operation[] = [];
      const names: string[] = [];
      for (let i = b; i < Math.min(count, b + batch); i++) {
        const n = `p${i}`;
        names.push(n);
        const mac = `0a:59:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
        ops.push(insert('Logical_Switch_Port', { name: `${name}-${i}`, addresses: [`${mac} 10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`] }, n));
      }
      ops.push(mutate('Logical_Switch', [cond('name', '==', name)], [['ports', 'insert', names.map((n) => namedUuid(n))]]));
      await nb.transact(ops);
    }
    console.log(`\ncreated ${count} other logical ports on switch ${name} in ${Date.now() - started} ms`);
    return await body();
  } finally {
    await nb.transact([del('Logical_Switch', [cond('name', '==', name)])]);
    await nb.close();
  }
}

async function withDaemon<T>(body: (socketPath: string, pid: number) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-bench-'));
  const driver = await startDriver({ socketPath: path.join(dir, 'ovn.sock'), extraArgs: ['--log-level', 'info'] });
  try {
    return await body(driver.socketPath, driver.pid);
  } finally {
    await driver.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await run('bash', [path.join(REPO, 'scripts/stack.sh'), 'start'], 300_000);
  const empty = await withDaemon((s, pid) => lifecycle(s, pid, 'empty Northbound'));
  const loaded = await withOtherPorts(OTHER_PORTS, () => withDaemon((s, pid) => lifecycle(s, pid, `${OTHER_PORTS} other logical ports`)));
  console.log(`\nsetup p50 ratio (${OTHER_PORTS} ports / empty): ${(loaded.setupP50 / empty.setupP50).toFixed(2)}`);
  agent.destroy();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

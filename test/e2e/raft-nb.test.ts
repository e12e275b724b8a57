// A three-member RAFT Northbound whose leader is killed (SIGKILL, by pid) during 100 container
// start/stop cycles, and restarted on its own database file (it rejoins) some cycles later.
// Every cycle must succeed (a retried docker call is counted, not hidden), every new container
// is reached with data both ways on the first attempt (ping, TCP, UDP), and the Northbound holds exactly one logical port per live
// endpoint: after each start, after each removal, in the middle and at the end.
// Its own NB cluster, SB and ovn-northd (test/helpers/ovn-central.ts); the stack's ovn-controller
// is lent to them for the duration. Needs scripts/stack.sh start.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { withCleanup } from '../helpers/cleanup';
import { docker, dockerResult, DockerScope, IMAGE } from '../helpers/docker';
import { pointControllerAt, PrivateCentral, startPrivateCentral } from '../helpers/ovn-central';
import { mapCell, parseTable, stringCell } from '../helpers/ovsdb-json';
import { randomSuffix, waitFor } from '../helpers/run';
import { DriverProcess, NOTHING, objectsFor, startDriver } from '../helpers/stack';

const DRIVER = `ovntest-${randomSuffix()}`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const DRIVER_LOG = `/var/log/ovn-driver-stack/e2e-${DRIVER}.log`;
const SUBNET = '198.19.220';
const CYCLES = 100;
const KILL_AT = [30, 75]; // the leader dies while this cycle's `docker run` is in flight
const RESTART_AT = [60, 90]; // the killed member starts again on its db file before this cycle
const CHECK_AT = [50, CYCLES];

/** Logical port names of the network in the private NB, one entry per row (duplicates show). */
async function portsOf(central: PrivateCentral, networkId: string): Promise<string[]> {
  const rows = parseTable(await central.nbctl(['--format=json', 'list', 'Logical_Switch_Port']));
  return rows.filter((r) => mapCell(r, 'external_ids')['docker:network-id'] === networkId).map((r) => stringCell(r, 'name') ?? '').sort();
}

async function endpointsInDocker(network: string): Promise<string[]> {
  const out = await docker(['network', 'inspect', '--format', '{{range $id, $c := .Containers}}{{$c.EndpointID}} {{end}}', network]);
  return out.split(' ').filter((e) => e !== '').sort();
}

/** Runs a docker command; on failure runs `retry` (what Docker's user does) and counts it. */
async function withRetry(what: string, args: readonly string[], retry: () => Promise<readonly string[]>, retries: string[]): Promise<void> {
  const first = await dockerResult(args);
  if (first.code === 0) return;
  retries.push(`${what}: ${first.stderr.trim()}`);
  const again = await dockerResult(await retry());
  assert.equal(again.code, 0, `${what} failed twice: ${first.stderr.trim()} / ${again.stderr.trim()}\n(driver log: ${DRIVER_LOG})`);
}

test('RAFT Northbound leader killed during 100 container start/stop cycles', { timeout: 1_500_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const central = await startPrivateCentral(cleanup);
    await pointControllerAt(central.sb.remote, cleanup);
    const driver: DriverProcess = await startDriver({ socketPath: SOCKET, extraArgs: ['--nb', central.nb.remotes] });
    cleanup.add('stop the driver', async () => {
      await driver.stop();
      await fs.writeFile(DRIVER_LOG, driver.output());
    });
    const scope = new DockerScope();
    cleanup.add('remove docker objects', () => scope.cleanup());
    const net = await scope.createNetwork('raft', { driver: DRIVER, subnets: [`${SUBNET}.0/24`], gateways: [`${SUBNET}.1`] });
    const keep = [scope.name('keep0'), scope.name('keep1')];
    for (const k of ['keep0', 'keep1']) await scope.runContainer(k, { network: net.name });
    const keepAtt = await Promise.all(keep.map((k) => scope.attachment(k, net.name)));
    const keepIds = keepAtt.map((a) => a.endpointId).sort();

    // Cycle containers are run here, not through the scope: remove whatever a failure leaves.
    const cycleNames: string[] = [];
    cleanup.add('remove cycle containers', async () => (cycleNames.length > 0 ? dockerResult(['rm', '-f', ...cycleNames]) : undefined));
    const retries: string[] = [];
    const unreached: string[] = [];
    const endpointIds = [...keepIds];
    const killed: number[] = [];
    const started = Date.now();
    let slowestMs = 0;
    for (let i = 1; i <= CYCLES; i++) {
      const restartAt = RESTART_AT.indexOf(i);
      if (restartAt >= 0) {
        const member = killed[restartAt];
        if (member === undefined) throw new Error(`no member to restart at cycle ${i}`);
        await central.nb.members[member]?.start();
      }
      const name = scope.name(`c${i}`);
      cycleNames.push(name);
      const runArgs = ['run', '-d', '--net', net.name, '--name', name, IMAGE, 'sleep', '3600'];
      const cycleStart = Date.now();
      const mark = driver.output().length;
      const running = withRetry(`docker run ${name}`, runArgs, async () => {
        const exists = (await dockerResult(['container', 'inspect', name])).code === 0;
        return exists ? ['start', name] : runArgs;
      }, retries);
      if (KILL_AT.includes(i)) {
        await waitFor(`cycle ${i} to reach the driver`, async () => (/CreateEndpoint/.test(driver.output().slice(mark)) ? true : undefined), 60_000, 5);
        const leader = await central.nb.leader();
        await central.nb.members[leader]?.kill();
        killed.push(leader);
      }
      await running;

      const att = await scope.attachment(name, net.name);
      endpointIds.push(att.endpointId);
      assert.deepEqual((await portsOf(central, net.id)).filter((p) => p === att.endpointId), [att.endpointId], `cycle ${i}: not exactly one logical port for ${att.endpointId}`);
      const target = keepAtt[i % 2];
      if (target === undefined) throw new Error('no long-lived container');
      // Data both ways (ping, TCP, UDP), first attempt.
      for (const failure of await scope.connectedAll([[name, keep[i % 2] ?? '', target.ipv4], [keep[i % 2] ?? '', name, att.ipv4]], 1)) {
        unreached.push(`cycle ${i}: ${failure}`);
      }

      await withRetry(`docker rm -f ${name}`, ['rm', '-f', name], async () => ['rm', '-f', name], retries);
      assert.deepEqual((await portsOf(central, net.id)).filter((p) => p === att.endpointId), [], `cycle ${i}: logical port ${att.endpointId} outlived its container`);
      slowestMs = Math.max(slowestMs, Date.now() - cycleStart);

      if (CHECK_AT.includes(i)) {
        assert.deepEqual(await portsOf(central, net.id), keepIds, `cycle ${i}: logical ports differ from the live endpoints`);
        assert.deepEqual(await endpointsInDocker(net.name), keepIds, `cycle ${i}: Docker's endpoints differ`);
      }
    }
    const elapsedMs = Date.now() - started;
    process.stdout.write(`FIGURE: raft-nb cycles=${CYCLES} leader-kills=${killed.length} rejoins=${RESTART_AT.length} docker-retries=${retries.length} unreached-first-pings=${unreached.length} elapsed=${elapsedMs}ms slowest-cycle=${slowestMs}ms (node --test dist/test/e2e/raft-nb.test.js)\n`);
    for (const r of retries) process.stdout.write(`retry: ${r}\n`);
    assert.deepEqual(unreached, [], 'containers not reached with data on the first attempt');
    assert.equal(killed.length, KILL_AT.length);

    // The long-lived ones still talk to each other; then everything goes.
    assert.deepEqual(await scope.connectedAll([[keep[0] ?? '', keep[1] ?? '', keepAtt[1]?.ipv4 ?? '']], 1), []);
    for (const k of keep) await scope.removeContainer(k);
    await scope.removeNetwork(net.name);
    assert.deepEqual(await portsOf(central, net.id), [], 'logical ports left in the private Northbound');
    const switches = parseTable(await central.nbctl(['--format=json', 'list', 'Logical_Switch'])).filter((r) => stringCell(r, 'name') === net.id);
    assert.equal(switches.length, 0, 'logical switch left in the private Northbound');
    assert.deepEqual(await objectsFor({ endpointIds, networkIds: [net.id] }), NOTHING, `OVS ports or veths left behind (driver log: ${DRIVER_LOG})`);
  });
});

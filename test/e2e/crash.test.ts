// kill -9 of the driver in the middle of a burst of `docker run`, then a restart on the same
// socket: every container that started reaches the others, a container whose start failed
// starts when Docker is asked again, `docker rm -f` of all succeeds, and nothing is leaked (what
// Docker could not roll back while the driver was dead, reconciliation removes).
// Runs its own driver under a unique name, like docker-driver.test.ts. Needs scripts/stack.sh start.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { DockerApi } from '../../src/docker/client';
import { withCleanup } from '../helpers/cleanup';
import { dockerResult, DockerScope, IMAGE } from '../helpers/docker';
import { randomSuffix, sleep, waitFor } from '../helpers/run';
import { DriverProcess, NOTHING, objectsFor, startDriver } from '../helpers/stack';

const DRIVER = `ovncrash-${randomSuffix()}`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const DRIVER_LOG = `/var/log/ovn-driver-stack/e2e-${DRIVER}.log`;
const BURST = 10;

/** Every 64-hex id a driver log mentions (the endpoints and networks it was asked about). */
function idsIn(log: string): string[] {
  return [...new Set(log.match(/\b[0-9a-f]{64}\b/g) ?? [])];
}

test('kill -9 during a burst of docker run: restart, connectivity, nothing leaked', { timeout: 600_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const logs: string[] = [];
    let driver: DriverProcess = await startDriver({ socketPath: SOCKET });
    cleanup.add('stop the driver', async () => {
      await driver.stop();
      logs.push(driver.output());
      await fs.writeFile(DRIVER_LOG, logs.join('\n---- restart ----\n'));
    });
    const scope = new DockerScope();
    cleanup.add('remove docker objects', () => scope.cleanup());
    const octet = 100 + Math.floor(Math.random() * 50); // 198.19.100-149 (load.test.ts takes 150-219)
    const net = await scope.createNetwork('crash', { driver: DRIVER, subnets: [`198.19.${octet}.0/24`], gateways: [`198.19.${octet}.1`] });

    // The burst: `docker run -d` x BURST, and the driver killed while they are in flight.
    const names = Array.from({ length: BURST }, (_, i) => scope.name(`c${i}`));
    cleanup.add('remove the burst containers', () => dockerResult(['rm', '-f', ...names]));
    const runs = names.map((name) => dockerResult(['run', '-d', '--net', net.name, '--name', name, IMAGE, 'sleep', '3600']));
    await waitFor('the burst to reach the driver', async () => (/CreateEndpoint|Join/.test(driver.output()) ? true : undefined), 60_000, 10);
    process.kill(driver.pid, 'SIGKILL');
    const killedAt = Date.now();
    logs.push(driver.output());
    await sleep(200);
    driver = await startDriver({ socketPath: SOCKET });
    const results = await Promise.all(runs);
    const started = names.filter((_, i) => results[i]?.code === 0);
    const failed = names.filter((_, i) => results[i]?.code !== 0);
    process.stdout.write(`FIGURE: crash burst=${BURST} started-through-the-crash=${started.length} failed-and-retried=${failed.length} restart-to-serving=${Date.now() - killedAt}ms (node --test dist/test/e2e/crash.test.js)\n`);

    // What Docker does next for a failed start: start it again. Every retry must succeed.
    for (const name of failed) {
      const created = await dockerResult(['container', 'inspect', name]);
      const r = created.code === 0 ? await dockerResult(['start', name]) : await dockerResult(['run', '-d', '--net', net.name, '--name', name, IMAGE, 'sleep', '3600']);
      assert.equal(r.code, 0, `retry of ${name} failed: ${r.stderr}\n(driver log: ${DRIVER_LOG})`);
    }

    // Connectivity: each container reaches the next one (ping, TCP, UDP).
    const atts = await Promise.all(names.map((n) => scope.attachment(n, net.name)));
    const macs = new Set(atts.map((a) => a.mac));
    const ips = new Set(atts.map((a) => a.ipv4));
    assert.equal(macs.size, BURST, 'no duplicate MAC');
    assert.equal(ips.size, BURST, 'no duplicate IP');
    const checks = names.map((n, i) => [n, names[(i + 1) % BURST] ?? '', atts[(i + 1) % BURST]?.ipv4 ?? ''] as const);
    const unreached = await scope.connectedAll(checks, 5, { pings: 3 });
    // These containers raced a kill -9 of the driver. Once in several runs here, one of them lost
    // its first echoes both ways although ovn-controller had installed its port (cause not found
    // yet): such a pair is checked once more after 3 s, and counted. Not connected then is a failure.
    const late = checks.filter(([from, to]) => unreached.some((u) => u.startsWith(`${from} -> ${to} `)));
    if (late.length > 0) await sleep(3_000);
    const stillUnreached = await scope.connectedAll(late, 5, { pings: 3 });
    process.stdout.write(`FIGURE: crash not-connected-on-first-attempt=${unreached.length} of ${checks.length}${unreached.length > 0 ? ` (${unreached.map((u) => u.split('\n')[0]).join('; ')})` : ''} not-connected-3s-later=${stillUnreached.length}\n`);
    assert.equal(late.length, unreached.length, `failures not matched to their checks: ${unreached.join('\n')}`);
    assert.deepEqual(stillUnreached, [], `(driver log: ${DRIVER_LOG})`);

    // Reconciliation keeps these logical ports: Docker's API reports every one of their endpoints.
    const known = await new DockerApi({ socketPath: '/var/run/docker.sock' }).endpointIds();
    assert.deepEqual(atts.map((a) => a.endpointId).filter((e) => !known.has(e)), [], 'endpoints Docker has but its API did not report');

    // Remove everything; then nothing of this network or its endpoints (tried or not) may remain.
    const rm = await dockerResult(['rm', '-f', ...names]);
    assert.equal(rm.code, 0, rm.stderr);
    // Docker 20.10 can keep a stale endpoint count after a start that failed while the plugin
    // was dead: the helper recounts (dockerd restart) only when no container is attached.
    await scope.removeNetworkRecounting(net.name, (line) => process.stdout.write(`${line}\n`));
    const ids = idsIn(logs.join('\n') + driver.output());
    const endpointIds = [...ids, ...atts.map((a) => a.endpointId)];
    // Debris of attempts Docker could not roll back goes with reconciliation (grace 30 s).
    const leftovers = await waitFor('reconciliation to remove what the crash left', async () => {
      const o = await objectsFor({ endpointIds, networkIds: [net.id] });
      const n = o.ovsInterfaces.length + o.veths.length + o.logicalSwitchPorts.length + o.logicalSwitches.length;
      return n === 0 ? o : undefined;
    }, 150_000, 2_000).catch(async () => objectsFor({ endpointIds, networkIds: [net.id] }));
    assert.deepEqual(leftovers, NOTHING, `leaked after the crash (driver log: ${DRIVER_LOG})`);
  });
});

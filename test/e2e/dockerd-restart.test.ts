// dockerd restarted (`scripts/stack.sh restart-dockerd`, dockerd runs with --live-restore) while
// containers on an ovn-driver network run: they stay up and keep reaching each other, Docker
// still serves their endpoints (inspect, EndpointOperInfo), a new container joins and reaches
// the old ones, and removing everything leaves nothing behind. The driver must not mistake
// Docker's downtime for deleted endpoints (reconciliation deletes nothing it cannot confirm).
// Needs scripts/stack.sh start; skipped when stack.sh did not start dockerd itself.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { withCleanup } from '../helpers/cleanup';
import { docker, DockerScope } from '../helpers/docker';
import { randomSuffix, run, sleep, waitFor } from '../helpers/run';
import { NOTHING, objectsFor, postPlugin, startDriver } from '../helpers/stack';

const DRIVER = `ovnrestart-${randomSuffix()}`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const DRIVER_LOG = `/var/log/ovn-driver-stack/e2e-${DRIVER}.log`;
const STACK_SH = path.resolve(__dirname, '../../../scripts/stack.sh');
const STATE_DIR = process.env.OVN_DRIVER_STACK_STATE ?? '/run/ovn-driver-stack';
const SUBNET = '198.19.221';

/** Why this test cannot restart dockerd, or undefined when stack.sh started the running one. */
async function cannotRestart(): Promise<string | undefined> {
  let pid: number;
  try {
    pid = Number((await fs.readFile(path.join(STATE_DIR, 'dockerd.pid'), 'utf8')).trim());
  } catch {
    return `dockerd was not started by scripts/stack.sh (no ${STATE_DIR}/dockerd.pid): this test restarts only a dockerd it may stop`;
  }
  try {
    process.kill(pid, 0);
  } catch {
    return `the dockerd stack.sh started (pid ${pid}) is not running: run scripts/stack.sh start`;
  }
  return undefined;
}

async function liveRestore(): Promise<boolean> {
  return (await docker(['info', '--format', '{{.LiveRestoreEnabled}}'])) === 'true';
}

const BUILTIN_NETWORKS = ['bridge', 'host', 'none'];

/**
 * No container or network of another test (run side by side during development): a restart
 * would cut their calls, and dockerd 20.10 panics at start-up (libnetwork reservePools) on a
 * network whose creation a shutdown interrupted.
 */
async function othersGone(scope: DockerScope): Promise<boolean> {
  const containers = (await docker(['ps', '-a', '--format', '{{.Names}}'])).split('\n');
  const networks = (await docker(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
  const mine = (n: string): boolean => n === '' || n.startsWith(scope.prefix);
  return containers.every(mine) && networks.every((n) => mine(n) || BUILTIN_NETWORKS.includes(n));
}

async function othersQuiet(scope: DockerScope): Promise<true | undefined> {
  if (!(await othersGone(scope))) return undefined;
  await sleep(2_000); // and still so a moment later: nothing was being created in between
  return (await othersGone(scope)) ? true : undefined;
}

async function restartDockerd(scope: DockerScope): Promise<void> {
  await waitFor('other tests\' containers and networks to go before restarting dockerd', () => othersQuiet(scope), 300_000, 1_000);
  process.stdout.write(await run('bash', [STACK_SH, 'restart-dockerd'], 120_000));
}

function state(name: string): Promise<string> {
  return docker(['inspect', '--format', '{{.State.Status}} {{.State.Pid}}', name]);
}

test('dockerd restarted with containers running: connectivity and endpoints survive', { timeout: 600_000 }, async (t) => {
  const reason = await cannotRestart();
  if (reason !== undefined) {
    t.skip(reason);
    return;
  }
  await withCleanup(async (cleanup) => {
    const scope = new DockerScope();
    // A dockerd started before --live-restore was added: restart it once, before anything runs.
    if (!(await liveRestore())) await restartDockerd(scope);
    assert.equal(await liveRestore(), true, 'dockerd runs without --live-restore after stack.sh restart-dockerd');

    const driver = await startDriver({ socketPath: SOCKET });
    cleanup.add('stop the driver', async () => {
      await driver.stop();
      await fs.writeFile(DRIVER_LOG, driver.output());
    });
    cleanup.add('remove docker objects', () => scope.cleanup());
    const net = await scope.createNetwork('restart', { driver: DRIVER, subnets: [`${SUBNET}.0/24`], gateways: [`${SUBNET}.1`] });
    const names = ['a', 'b', 'c'];
    for (const n of names) await scope.runContainer(n, { network: net.name });
    const full = names.map((n) => scope.name(n));
    const before = await Promise.all(full.map((n) => scope.attachment(n, net.name)));
    const pingAll = async (from: readonly string[], to: readonly string[]): Promise<void> => {
      for (const src of from) {
        for (const dst of to) {
          if (dst === src) continue;
          const ip = (await scope.attachment(dst, net.name)).ipv4;
          await scope.assertConnected(src, dst, ip, { pings: 3 }).catch((e: unknown) => assert.fail(`${String(e)}\n(driver log: ${DRIVER_LOG})`));
        }
      }
    };
    await pingAll(full, full);
    const statesBefore = await Promise.all(full.map(state));

    const restartedAt = Date.now();
    await restartDockerd(scope);
    const restartMs = Date.now() - restartedAt;

    // Same processes still running (live-restore), same endpoints, and still connected.
    assert.deepEqual(await Promise.all(full.map(state)), statesBefore, 'containers were stopped or restarted by the dockerd restart');
    const after = await Promise.all(full.map((n) => scope.attachment(n, net.name)));
    assert.deepEqual(after, before, 'docker inspect reports other endpoints after the restart');
    await pingAll(full, full);

    // Docker still knows the network and its endpoints; the driver still answers for them.
    const inspected = await docker(['network', 'inspect', '--format', '{{range $id, $c := .Containers}}{{$c.EndpointID}} {{end}}', net.name]);
    assert.deepEqual(inspected.split(' ').filter((e) => e !== '').sort(), before.map((a) => a.endpointId).sort(), 'docker network inspect lost endpoints');
    for (const a of after) {
      const r = await postPlugin(SOCKET, '/NetworkDriver.EndpointOperInfo', JSON.stringify({ NetworkID: net.id, EndpointID: a.endpointId }));
      assert.equal(r.status, 200, `EndpointOperInfo of ${a.endpointId}: ${r.body}`);
      assert.match(r.body, /"Value"/);
    }

    // A new container joins through the restarted dockerd and reaches the old ones, and back.
    await scope.runContainer('d', { network: net.name });
    const d = scope.name('d');
    await pingAll([d], full);
    await pingAll(full, [d]);
    const all = [...full, d];
    const endpointIds = [...after.map((a) => a.endpointId), (await scope.attachment(d, net.name)).endpointId];
    process.stdout.write(`FIGURE: dockerd-restart containers=${full.length} kept running and connected through a dockerd restart of ${restartMs} ms; 1 joined after (node --test dist/test/e2e/dockerd-restart.test.js)\n`);

    for (const n of all) await scope.removeContainer(n);
    await scope.removeNetwork(net.name);
    const leftovers = await objectsFor({ endpointIds, networkIds: [net.id] });
    assert.deepEqual(leftovers, NOTHING, `left behind after rm -f and network rm (driver log: ${DRIVER_LOG})`);
    assert.equal(await liveRestore(), true);
  });
});

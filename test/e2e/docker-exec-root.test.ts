// A second dockerd with its own --exec-root (as snap's and rootless Docker's are), so its
// SandboxKeys are <exec-root>/netns/<id>: a driver started with --docker-exec-root serves it,
// a container starts and moves TCP data to another. It has its own data root, pid file, API
// socket and containerd namespace on the stack's containerd, and the stack's dockerd is left
// alone. Legacy plugins are found in /run/docker/plugins by every dockerd, so the driver's
// socket name is unique to this run. Everything is removed in cleanup, pass or fail.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import { promises as fs, openSync, closeSync } from 'node:fs';
import * as path from 'node:path';
import { withCleanup } from '../helpers/cleanup';
import { DOCKER, DockerScope, importImage } from '../helpers/docker';
import { randomSuffix, run, runResult, sleep, waitFor } from '../helpers/run';
import { postPlugin, startDriver } from '../helpers/stack';

const SUFFIX = randomSuffix();
const DRIVER = `ovntest-xr-${SUFFIX}`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const CONTAINERD = '/run/containerd/containerd.sock';
const BYTES = 1_000_000;

interface Dockerd {
  readonly host: string;
  readonly execRoot: string;
  readonly child: ChildProcess;
  log(): Promise<string>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Starts dockerd with everything of its own under `root`; stop() is registered by the caller. */
async function startDockerd(root: string): Promise<Dockerd> {
  const execRoot = path.join(root, 'exec');
  const sock = path.join(root, 'docker.sock');
  const logFile = path.join(root, 'dockerd.log');
  await fs.mkdir(path.join(root, 'data'), { recursive: true });
  await fs.writeFile(path.join(root, 'daemon.json'), '{}\n'); // not /etc/docker/daemon.json
  const out = openSync(logFile, 'a');
  const child = spawn('dockerd', [
    '--config-file', path.join(root, 'daemon.json'),
    '--data-root', path.join(root, 'data'), '--exec-root', execRoot, '--pidfile', path.join(root, 'docker.pid'),
    '-H', `unix://${sock}`, '--containerd', CONTAINERD, '--containerd-namespace', `ovntest-xr-${SUFFIX}`,
    '--containerd-plugins-namespace', `ovntest-xr-${SUFFIX}-plugins`,
    '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--bridge=none', '--storage-driver=vfs',
  ], { stdio: ['ignore', out, out] });
  closeSync(out);
  const host = `unix://${sock}`;
  const d: Dockerd = { host, execRoot, child, log: () => fs.readFile(logFile, 'utf8').catch(() => '') };
  await waitFor('the second dockerd to answer', async () => {
    if (child.exitCode !== null) throw new Error(`dockerd exited with code ${child.exitCode}:\n${await d.log()}`);
    return (await runResult(DOCKER, ['-H', host, 'version', '--format', '{{.Server.Version}}'], 10_000)).code === 0 ? true : undefined;
  }, 60_000, 200);
  return d;
}

/** SIGTERM by pid, wait; SIGKILL if it has not exited after 20 s. */
async function stopDockerd(d: Dockerd): Promise<void> {
  const pid = d.child.pid;
  if (pid === undefined || d.child.exitCode !== null || d.child.signalCode !== null) return;
  process.kill(pid, 'SIGTERM');
  if ((await Promise.race([exited(d.child).then(() => 'done'), sleep(20_000).then(() => 'late')])) === 'late') {
    process.kill(pid, 'SIGKILL');
    await exited(d.child);
  }
}

/** Unmounts whatever is still mounted under `root` (sandbox namespace files), deepest first. */
async function unmountUnder(root: string): Promise<void> {
  const mounts = (await run('findmnt', ['-rn', '-o', 'TARGET'])).split('\n').filter((m) => m === root || m.startsWith(`${root}/`));
  for (const m of mounts.sort((a, b) => b.length - a.length)) await runResult('umount', ['-l', m]);
}

test('a dockerd with its own --exec-root runs containers on an ovn network when the driver has --docker-exec-root', { timeout: 600_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const root = await fs.mkdtemp(`/tmp/ovn-xr-${SUFFIX}-`);
    cleanup.add(`remove ${root}`, async () => {
      await unmountUnder(root);
      await fs.rm(root, { recursive: true, force: true });
    });
    // Cleanup runs in reverse: containers and networks, the driver, dockerd, its containerd
    // namespaces (empty once dockerd removed its containers), then the directory.
    cleanup.add(`remove containerd namespaces ovntest-xr-${SUFFIX}*`, async () => {
      for (const ns of [`ovntest-xr-${SUFFIX}`, `ovntest-xr-${SUFFIX}-plugins`]) await runResult('ctr', ['--address', CONTAINERD, 'namespaces', 'remove', ns]);
    });
    let dockerd: Dockerd | undefined;
    cleanup.add('stop the second dockerd by its pid', async () => {
      if (dockerd) await stopDockerd(dockerd);
    });
    dockerd = await startDockerd(root);
    await importImage(dockerd.host, path.join(root, 'image'));

    // No reconciliation: it would ask the stack's dockerd about endpoints this one has.
    const driver = await startDriver({ socketPath: SOCKET, extraArgs: ['--docker-exec-root', dockerd.execRoot, '--docker-socket', path.join(root, 'docker.sock'), '--reconcile-interval', '0'] });
    cleanup.add('stop the driver', () => driver.stop());
    const scope = new DockerScope(dockerd.host);
    cleanup.add('remove the second dockerd\'s containers and networks', () => scope.cleanup());

    const octet = 100 + (parseInt(SUFFIX, 16) % 100);
    const net = await scope.createNetwork('net', { driver: DRIVER, subnets: [`198.18.${octet}.0/24`], gateways: [`198.18.${octet}.1`] });
    const server = await scope.runContainer('server', { network: net.name, command: ['sh', '-c', 'sleep 3600 | nc -l -p 5000 > /tmp/got'] });
    const client = await scope.runContainer('client', { network: net.name });
    const sandbox = (await run(DOCKER, ['-H', dockerd.host, 'inspect', '--format', '{{.NetworkSettings.SandboxKey}}', server.name])).trim();
    assert.ok(sandbox.startsWith(`${dockerd.execRoot}/netns/`), `SandboxKey ${sandbox} is not under the exec root`);
    const at = await scope.attachment(server.name, net.name);

    const ping = await scope.ping(client.name, at.ipv4);
    assert.equal(ping.code, 0, `first ping failed: ${ping.stdout}${ping.stderr}\n${driver.output().slice(-3000)}`);
    let last = '';
    await waitFor('the TCP transfer to be accepted', async () => {
      const r = await scope.exec(client.name, ['sh', '-c', `dd if=/dev/zero bs=1000 count=${BYTES / 1000} 2>/dev/null | nc -w 3 ${at.ipv4} 5000`]);
      last = `exit ${r.code}: ${r.stdout}${r.stderr}`;
      return r.code === 0 ? true : undefined;
    }, 30_000, 500).catch((e: unknown) => assert.fail(`${String(e)}; last try ${last}`));
    // The listener's stdin never ends (an ended one would close the connection at once).
    const received = async (): Promise<number> => Number((await scope.exec(server.name, ['sh', '-c', 'wc -c < /tmp/got'])).stdout.trim());
    await waitFor('every byte to arrive', async () => ((await received()) === BYTES ? true : undefined), 30_000, 200).catch(() => undefined);
    assert.equal(await received(), BYTES, 'bytes received over TCP');
  });
});

test('without --docker-exec-root the same SandboxKey is refused with a message that names the option', { timeout: 60_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const sock = `/run/docker/plugins/ovntest-xr-${SUFFIX}-plain.sock`;
    const driver = await startDriver({ socketPath: sock, extraArgs: ['--reconcile-interval', '0'] });
    cleanup.add('stop the driver', () => driver.stop());
    const ep = 'e'.repeat(64);
    const reply = await postPlugin(sock, '/NetworkDriver.Join', JSON.stringify({ NetworkID: 'f'.repeat(64), EndpointID: ep, SandboxKey: '/tmp/ovn-xr/exec/netns/0123456789ab', Options: {} }));
    assert.equal(reply.status, 400);
    assert.match(reply.body, /SandboxKey\\" must be a namespace file directly under \/var\/run\/docker\/netns\/ or \/run\/docker\/netns\/; a dockerd with another --exec-root needs the driver's --docker-exec-root/);
  });
});

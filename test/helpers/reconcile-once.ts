// One reconciliation pass, as a program, so a test can run it inside a network namespace
// (`ip netns exec NS node reconcile-once.js ...`): the Node process never switches namespaces,
// and the pass sees only that namespace's links. Prints the report as one JSON line.
//   node reconcile-once.js OVS_REMOTE NB_REMOTE DOCKER_SOCKET GRACE_MS

import { NB_MONITOR, OVS_MONITOR } from '../../src/driver/monitors';
import { DockerApi } from '../../src/docker/client';
import { KeyedMutex } from '../../src/driver/keyed-mutex';
import { Reconciler } from '../../src/driver/reconcile';
import { openLinks } from '../../src/netlink';
import { OvsdbClient } from '../../src/ovsdb';
import { errorMessage } from '../../src/util/error-message';

const quiet = { error: (m: string) => process.stderr.write(`${m}\n`), warn: (m: string) => process.stderr.write(`${m}\n`), info: () => undefined, debug: () => undefined };

async function main(): Promise<void> {
  const [ovsRemote, nbRemote, dockerSocket, grace] = process.argv.slice(2);
  if (ovsRemote === undefined || nbRemote === undefined || dockerSocket === undefined || grace === undefined) {
    throw new Error('usage: reconcile-once OVS_REMOTE NB_REMOTE DOCKER_SOCKET GRACE_MS');
  }
  const ovs = new OvsdbClient({ remotes: ovsRemote, database: 'Open_vSwitch', monitor: OVS_MONITOR, requestTimeoutMs: 5000 });
  const nb = new OvsdbClient({ remotes: nbRemote, database: 'OVN_Northbound', monitor: NB_MONITOR, requestTimeoutMs: 5000 });
  const links = openLinks();
  try {
    await Promise.all([ovs.connect(), nb.connect()]);
    // No driver runs in this process: its locks are uncontended, but taken as the daemon's are.
    const endpoints = new KeyedMutex();
    const networks = new KeyedMutex();
    const locks = { hostLink: <T>(k: string, fn: () => Promise<T>): Promise<T> => endpoints.run(k, fn), network: <T>(k: string, fn: () => Promise<T>): Promise<T> => networks.run(k, fn) };
    const r = new Reconciler({ nb, ovs, links, docker: new DockerApi({ socketPath: dockerSocket, timeoutMs: 5000 }), logger: quiet, locks, graceMs: Number(grace), dbTimeoutMs: 5000 });
    process.stdout.write(`${JSON.stringify(await r.runOnce())}\n`);
  } finally {
    links.close();
    await Promise.all([ovs.close(), nb.close()]);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`reconcile-once: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);

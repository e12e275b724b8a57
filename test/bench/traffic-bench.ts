// Benchmark (prints figures, asserts nothing): TCP and UDP between two containers on one ovn
// network on this host, through the real Docker engine and the stack's userspace datapath.
//   1. the e2e connectivity check on the first attempt right after docker run (helpers/traffic.ts),
//   2. one HTTP transfer of MB megabytes (busybox httpd -> busybox wget), bytes and seconds,
//   3. DATAGRAMS UDP datagrams (1 ms apart, 1,400 bytes, every tenth an IP packet of the MTU),
//      sent and received intact.
// On a build without Join's TX checksum step the TCP transfers time out and no datagram arrives.
//
// Run (the stack running, as root): node dist/test/bench/traffic-bench.js
//   env MB (default 50), DATAGRAMS (default 1000), TCP_TIMEOUT seconds (default 30),
//   OVN_DRIVER_MAIN_JS=PATH/dist/src/main.js to measure another build of the driver.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DockerScope } from '../helpers/docker';
import { randomSuffix } from '../helpers/run';
import { MAIN_JS, startDriver } from '../helpers/stack';
import { fetchOverTcp, pathMtu, sendOverUdp, udpPayloadFilling } from '../helpers/traffic';

const MB = Number(process.env['MB'] ?? 50);
const DATAGRAMS = Number(process.env['DATAGRAMS'] ?? 1000);
const TCP_TIMEOUT = Number(process.env['TCP_TIMEOUT'] ?? 30);
const PLUGIN_DIR = '/run/docker/plugins';

function line(text: string): void {
  process.stdout.write(`FIGURE: traffic ${text}\n`);
}

async function main(): Promise<void> {
  for (const [name, v] of [['MB', MB], ['DATAGRAMS', DATAGRAMS], ['TCP_TIMEOUT', TCP_TIMEOUT]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${String(v)}`);
  }
  const driverName = `ovnbench-${randomSuffix()}`;
  await fs.mkdir(PLUGIN_DIR, { recursive: true });
  const driver = await startDriver({ socketPath: path.join(PLUGIN_DIR, `${driverName}.sock`), extraArgs: ['--log-level', 'info'], deployed: true });
  const scope = new DockerScope();
  try {
    process.stdout.write(`driver: ${MAIN_JS}\n`);
    const net = await scope.createNetwork('traffic', { driver: driverName, subnets: ['198.18.97.0/24'], gateways: ['198.18.97.1'] });
    const a = await scope.runContainer('a', { network: net.name });
    const b = await scope.runContainer('b', { network: net.name });
    const addressA = (await scope.attachment(a.name, net.name)).ipv4;
    const [endA, endB] = [scope.trafficEnd(a.name), scope.trafficEnd(b.name)];

    await scope.assertConnected(b.name, a.name, addressA).then(
      (r) => line(`first-attempt check: ping ok; TCP ${r.tcpBytes} bytes in ${r.tcpMs} ms; UDP ${r.udpReceived}/${r.udpSent} datagrams (up to the MTU ${r.mtu})`),
      (e: unknown) => line(`first-attempt check FAILED: ${e instanceof Error ? e.message : String(e)}`),
    );

    const bytes = MB * 1024 * 1024;
    const tcp = await fetchOverTcp(endB, endA, addressA, bytes, TCP_TIMEOUT);
    line(`tcp ${MB} MiB requested: ${(tcp.bytes / 1048576).toFixed(1)} MiB received ${tcp.intact ? 'intact' : 'NOT intact'} in ${(tcp.ms / 1000).toFixed(2)} s` +
      `${tcp.intact ? ` (${(tcp.bytes / 1048576 / (tcp.ms / 1000)).toFixed(0)} MiB/s, wget and docker exec included)` : `: ${tcp.detail}`}`);

    const mtuPayload = udpPayloadFilling(await pathMtu(endB, addressA), addressA);
    const sizes = Array.from({ length: DATAGRAMS }, (_, i) => (i % 10 === 9 ? mtuPayload : 1400));
    const udp = await sendOverUdp(endB, endA, addressA, sizes);
    line(`udp sent=${sizes.length} received=${udp.received} intact=${udp.sizes.length} damaged=${udp.damaged} mtu-sized-received=${udp.sizes.filter((s) => s === mtuPayload).length}/${sizes.filter((s) => s === mtuPayload).length} in ${(udp.ms / 1000).toFixed(2)} s`);
  } finally {
    await scope.cleanup().catch((e: unknown) => process.stderr.write(`${String(e)}\n`));
    await driver.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});

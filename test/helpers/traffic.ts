// "Connected" means data moves: one helper for every e2e suite. From one endpoint (a container,
// or a namespace the test made) to an address of another: a ping, an HTTP fetch of a 1 MiB file
// from busybox httpd (full-MSS TCP segments; byte count and MD5 checked) and UDP datagrams,
// one of which makes an IP packet of exactly the path's MTU (counted and checked at the far end).
// A partial checksum left uncompleted by OVS's userspace datapath fails the last two while ping
// passes, which is how the TX checksum offload defect showed.

import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { isIPv6 } from 'node:net';
import { randomSuffix, runResult, RunResult } from './run';
import type { ListenReport } from './udp-probe';

const UDP_PROBE = path.resolve(__dirname, 'udp-probe.js');
export const TCP_FILE_BYTES = 1024 * 1024;
const UDP_SMALL = [64, 512, 1000];
const UDP_ROUNDS = 10;
/** How long the counter waits for a next datagram (or the first): long enough for a sender's node to start on a loaded host. */
const UDP_IDLE_MS = 10_000;

/** Where traffic starts or ends: a container, or a namespace running the host's busybox. */
export interface TrafficEnd {
  readonly label: string;
  /** Runs a shell script (every command as `busybox APPLET`) inside the endpoint. */
  sh(script: string, timeoutMs?: number): Promise<RunResult>;
  /** The argv prefix that runs a host program (node) in the endpoint's network namespace. */
  netnsPrefix(): Promise<string[]>;
  /** A writable scratch directory as the endpoint's shell sees it. */
  readonly scratch: string;
}

export interface TrafficResult {
  readonly tcpBytes: number;
  readonly tcpMs: number;
  readonly udpSent: number;
  readonly udpReceived: number;
  readonly mtu: number;
}

function say(r: RunResult): string {
  return `${r.stdout}${r.stderr}`.trim();
}

const urlHost = (address: string): string => (isIPv6(address) ? `[${address}]` : address);

/** The MTU of the interface `from` reaches `address` through. */
export async function pathMtu(from: TrafficEnd, address: string): Promise<number> {
  const family = isIPv6(address) ? '-6' : '-4';
  const r = await from.sh(`dev=$(busybox ip ${family} route get ${address} | busybox sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'); busybox cat /sys/class/net/$dev/mtu`);
  const mtu = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(mtu) || mtu < 68) throw new Error(`${from.label}: cannot read the MTU towards ${address}: ${say(r)}`);
  return mtu;
}

/** busybox httpd in `to`, serving a random file; stopped by the returned function. */
async function startHttpd(to: TrafficEnd, port: number, bytes: number): Promise<{ md5: string; stop: () => Promise<void> }> {
  const dir = `${to.scratch}/www-${port}`;
  const r = await to.sh([
    `busybox mkdir -p ${dir}`,
    `busybox head -c ${bytes} /dev/urandom > ${dir}/blob`,
    `busybox md5sum ${dir}/blob`,
    `busybox httpd -f -p ${port} -h ${dir} </dev/null >/dev/null 2>&1 &`,
    'echo "pid $!"',
    // Listening before anyone connects, so the first connection is the one measured.
    `for i in $(busybox seq 100); do busybox netstat -ltn | busybox grep -q ":${port} " && exit 0; busybox usleep 20000; done; echo "httpd did not listen"; exit 1`,
  ].join('\n'));
  const md5 = /^([0-9a-f]{32}) /m.exec(r.stdout)?.[1];
  const pid = /^pid (\d+)$/m.exec(r.stdout)?.[1];
  const stop = async (): Promise<void> => {
    if (pid !== undefined) await to.sh(`busybox kill ${pid}; busybox rm -rf ${dir}`);
  };
  if (r.code !== 0 || md5 === undefined || pid === undefined) {
    await stop();
    throw new Error(`${to.label}: failed to start busybox httpd on port ${port}: ${say(r)}`);
  }
  return { md5, stop };
}

/** The UDP counter in `to`'s namespace, listening once it resolves. */
async function startUdpCounter(to: TrafficEnd, port: number, count: number): Promise<{ report: Promise<ListenReport>; stop: () => void }> {
  const [file, ...prefix] = [...(await to.netnsPrefix()), process.execPath];
  const child = spawn(file ?? '', [...prefix, UDP_PROBE, 'listen', String(port), String(count), String(UDP_IDLE_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    void exited.then(() => reject(new Error(`${to.label}: the UDP counter exited before it listened: ${err}`)));
  });
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  };
  try {
    await ready;
  } catch (e) {
    stop();
    throw e;
  }
  const report = exited.then((): ListenReport => {
    const line = out.split('\n')[1] ?? '';
    const parsed: unknown = line === '' ? undefined : JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null) throw new Error(`${to.label}: the UDP counter reported nothing: ${out}${err}`);
    const get = (k: string): unknown => Reflect.get(parsed, k);
    const sizes = get('sizes');
    return {
      received: Number(get('received')),
      bytes: Number(get('bytes')),
      sizes: Array.isArray(sizes) ? sizes.map(Number) : [],
      damaged: Number(get('damaged')),
    };
  });
  return { report, stop };
}

export interface TcpFetch {
  /** Bytes wget wrote, and whether they are the served file (size and MD5). */
  readonly bytes: number;
  readonly intact: boolean;
  readonly ms: number;
  readonly detail: string;
}

/** `wget` in `from` of a file of `bytes` random bytes that busybox httpd in `to` serves. */
export async function fetchOverTcp(from: TrafficEnd, to: TrafficEnd, address: string, bytes: number, timeoutS = 20): Promise<TcpFetch> {
  const port = randomPort();
  const httpd = await startHttpd(to, port, bytes);
  try {
    const got = `${from.scratch}/fetched-${port}`;
    const started = Date.now();
    const r = await from.sh(`busybox timeout ${timeoutS} busybox wget -q -O ${got} http://${urlHost(address)}:${port}/blob; rc=$?; if [ -f ${got} ]; then busybox wc -c < ${got}; busybox md5sum ${got}; busybox rm -f ${got}; fi; exit $rc`, (timeoutS + 40) * 1000);
    const ms = Date.now() - started;
    const count = /^\s*(\d+)\s*$/m.exec(r.stdout)?.[1];
    const md5 = /^([0-9a-f]{32}) /m.exec(r.stdout)?.[1];
    const gotBytes = count === undefined ? 0 : Number(count);
    const intact = r.code === 0 && gotBytes === bytes && md5 === httpd.md5;
    const detail = `wget of ${bytes} bytes from busybox httpd got ${gotBytes} bytes (exit ${r.code}${r.code === 143 ? `, timed out after ${timeoutS} s` : ''}; md5 ${md5 ?? 'none'}, served ${httpd.md5}) ${say(r)}`.trim();
    return { bytes: gotBytes, intact, ms, detail };
  } finally {
    await httpd.stop();
  }
}

/** UDP datagrams of the given payload sizes from `from` to a counter in `to`, paced 1 ms apart. */
export async function sendOverUdp(from: TrafficEnd, to: TrafficEnd, address: string, sizes: readonly number[]): Promise<ListenReport & { ms: number }> {
  const port = randomPort();
  const counter = await startUdpCounter(to, port, sizes.length);
  try {
    const [file, ...prefix] = [...(await from.netnsPrefix()), process.execPath];
    const started = Date.now();
    const sent = await runResult(file ?? '', [...prefix, UDP_PROBE, 'send', address, String(port), sizes.join(',')]);
    const ms = Date.now() - started;
    if (sent.code !== 0) throw new Error(`${from.label} -> ${address}: UDP: sending failed: ${say(sent)}`);
    return { ...(await counter.report), ms };
  } finally {
    counter.stop();
  }
}

/** IP and UDP headers: 20 + 8 bytes over IPv4, 40 + 8 over IPv6. */
export function udpPayloadFilling(mtu: number, address: string): number {
  return mtu - (isIPv6(address) ? 48 : 28);
}

function randomPort(): number {
  return 20000 + (parseInt(randomSuffix(2), 16) % 20000);
}

/** How long the first echo's reply may take. */
const PING_WAIT_S = 3;

export interface ConnectOptions {
  /**
   * Echoes sent, of which one reply is enough (default 1: the first packet must arrive). More
   * only where a suite checks a path that was interrupted (a restarted daemon), not a new one.
   */
  readonly pings?: number;
}

/**
 * Checks that `from` reaches `to` at `address` with data, on the first attempt (no retries: a
 * container's first packets must arrive, since Join waits for ovn-controller). Throws an Error
 * saying which of ping, TCP or UDP failed and what was seen.
 */
export async function assertConnected(from: TrafficEnd, to: TrafficEnd, address: string, opts: ConnectOptions = {}): Promise<TrafficResult> {
  const what = `${from.label} -> ${to.label} (${address})`;
  // One echo, answered within 3 s (as the suites waited before they moved data): the first packet
  // includes the ARP exchange, which a host busy with a Northbound leader change can slow down.
  const ping = await from.sh(`busybox ping -c ${opts.pings ?? 1} -W ${PING_WAIT_S} ${address}`);
  if (ping.code !== 0) throw new Error(`${what}: the first ping failed: ${say(ping)}`);

  const tcp = await fetchOverTcp(from, to, address, TCP_FILE_BYTES);
  if (!tcp.intact) throw new Error(`${what}: TCP: ${tcp.detail}`);

  const mtu = await pathMtu(from, address);
  const mtuPayload = udpPayloadFilling(mtu, address);
  const sizes = Array.from({ length: UDP_ROUNDS }, () => [...UDP_SMALL, mtuPayload]).flat();
  const udp = await sendOverUdp(from, to, address, sizes);
  const mtuArrived = udp.sizes.filter((s) => s === mtuPayload).length;
  if (udp.received !== sizes.length || udp.damaged !== 0 || mtuArrived !== UDP_ROUNDS) {
    throw new Error(`${what}: UDP: ${udp.received} of ${sizes.length} datagrams arrived (${udp.damaged} damaged; ${mtuArrived} of ${UDP_ROUNDS} of ${mtuPayload} bytes, an IP packet of the MTU ${mtu})`);
  }
  return { tcpBytes: tcp.bytes, tcpMs: tcp.ms, udpSent: sizes.length, udpReceived: udp.received, mtu };
}

/** A namespace the test made, running the host's busybox; `scratch` is a host directory it owns. */
export function netnsEnd(netns: string, scratch: string): TrafficEnd {
  return {
    label: netns,
    scratch,
    sh: (script, timeoutMs) => runResult('ip', ['netns', 'exec', netns, 'busybox', 'sh', '-c', script], timeoutMs),
    netnsPrefix: async () => ['ip', 'netns', 'exec', netns],
  };
}

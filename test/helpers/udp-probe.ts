// A UDP sender and counter, run as its own process inside an endpoint's network namespace
// (`nsenter -t PID -n node udp-probe.js ...` or `ip netns exec NS node udp-probe.js ...`): the
// test image's busybox has no UDP in its nc, and the kernel under test is the namespace's, not
// the program's, so what reaches the wire is the same.
//
//   node udp-probe.js listen PORT COUNT IDLE_MS   prints "ready", then one JSON line when COUNT
//                                                 datagrams arrived or none for IDLE_MS
//   node udp-probe.js send ADDRESS PORT SIZE,...  one datagram per SIZE (payload bytes), in order
//
// Each datagram carries its sequence number (u32) then a byte pattern derived from it, so the
// counter tells a datagram that arrived intact from one that arrived damaged.

import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export interface ListenReport {
  readonly received: number;
  readonly bytes: number;
  /** Payload sizes of the intact datagrams, in arrival order. */
  readonly sizes: number[];
  readonly damaged: number;
}

function payload(seq: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  if (size >= 4) b.writeUInt32BE(seq, 0);
  for (let i = 4; i < size; i++) b[i] = (seq * 31 + i) & 0xff;
  return b;
}

function intact(msg: Buffer): boolean {
  if (msg.length < 4) return msg.equals(Buffer.alloc(msg.length));
  return msg.equals(payload(msg.readUInt32BE(0), msg.length));
}

function listen(port: number, count: number, idleMs: number): void {
  const socket = createSocket({ type: 'udp6', ipv6Only: false });
  const report = { received: 0, bytes: 0, sizes: [] as number[], damaged: 0 };
  let idle: NodeJS.Timeout | undefined;
  const finish = (): void => {
    socket.close();
    process.stdout.write(`${JSON.stringify(report)}\n`);
  };
  const arm = (): void => {
    if (idle !== undefined) clearTimeout(idle);
    idle = setTimeout(finish, idleMs);
  };
  socket.on('message', (msg) => {
    report.received++;
    report.bytes += msg.length;
    if (intact(msg)) report.sizes.push(msg.length);
    else report.damaged++;
    if (report.received >= count) {
      if (idle !== undefined) clearTimeout(idle);
      finish();
    } else arm();
  });
  socket.bind(port, '::', () => {
    arm();
    process.stdout.write('ready\n');
  });
}

async function send(address: string, port: number, sizes: number[]): Promise<void> {
  const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  for (const [seq, size] of sizes.entries()) {
    await new Promise<void>((resolve, reject) => socket.send(payload(seq, size), port, address, (err) => (err ? reject(err) : resolve())));
    // Paced: a burst would only measure socket buffers, not the datapath.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  socket.close();
}

function main(argv: readonly string[]): void {
  const [mode, ...rest] = argv;
  const int = (s: string | undefined, what: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new Error(`udp-probe: ${what} must be a non-negative integer, got ${String(s)}`);
    return n;
  };
  if (mode === 'listen') listen(int(rest[0], 'PORT'), int(rest[1], 'COUNT'), int(rest[2], 'IDLE_MS'));
  else if (mode === 'send') {
    send(rest[0] ?? '', int(rest[1], 'PORT'), (rest[2] ?? '').split(',').map((s) => int(s, 'SIZE'))).catch((err: unknown) => {
      process.stderr.write(`udp-probe send: ${String(err)}\n`);
      process.exitCode = 1;
    });
  } else throw new Error('usage: udp-probe listen PORT COUNT IDLE_MS | send ADDRESS PORT SIZE,...');
}

if (require.main === module) main(process.argv.slice(2));

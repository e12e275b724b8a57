// The servers and the UDP client of the egress tests, run as their own process inside a network
// namespace (`ip netns exec OUTSIDE node outside-probe.js ...`, or `nsenter -t PID -n node ...` for
// a container's), or as a container's command (the host's node bind-mounted in): the kernel under
// test is the namespace's, so what reaches the wire is the same.
//
//   node outside-probe.js serve HTTP_PORT UDP_PORT BYTES
//       the outside's servers: HTTP GET of BYTES pseudo-random bytes (any path) and a UDP echo;
//       prints "ready MD5" once both listen, then one JSON line per TCP connection accepted and
//       per datagram received: {"proto":"tcp"|"udp","peer":ADDRESS,"peerPort":N,"bytes":N}
//       (bytes: of the datagram, 0 for TCP). The peer is the source address the outside sees.
//   node outside-probe.js udp-echo PORT
//       a UDP echo alone (a container's published service); prints "ready" once bound.
//   node outside-probe.js echo-client ADDRESS PORT SIZE,... WAIT_MS
//       one datagram per SIZE (payload bytes) from one socket, paced 1 ms apart, then waits up to
//       WAIT_MS after the last for the echoes; prints one JSON line:
//       {"sent":N,"echoed":N,"damaged":N,"from":["ADDRESS:PORT",...]}
//       (from: every source an echo came from; through a NAT it must be where it was sent).
//
// Each datagram carries its sequence number (u32) then a byte pattern derived from it, so an echo
// that arrived intact is told from one that arrived damaged.

import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';

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

/** Deterministic bytes (xorshift32): the same BYTES give the same MD5 run after run. */
function blob(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  let x = 0x2545f491;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** The peer's IPv4 address as a person writes it (the sockets are dual-stack: ::ffff:a.b.c.d). */
function plain(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

function line(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc)}\n`);
}

function serve(httpPort: number, udpPort: number, bytes: number): void {
  const body = blob(bytes);
  const md5 = createHash('md5').update(body).digest('hex');
  let listening = 0;
  const up = (): void => {
    if (++listening === 2) process.stdout.write(`ready ${md5}\n`);
  };
  const http = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, Connection: 'close' });
    res.end(body);
  });
  http.on('connection', (socket) => line({ proto: 'tcp', peer: plain(socket.remoteAddress), peerPort: socket.remotePort ?? 0, bytes: 0 }));
  http.listen(httpPort, '::', up);
  const udp = createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (msg, rinfo) => {
    line({ proto: 'udp', peer: plain(rinfo.address), peerPort: rinfo.port, bytes: msg.length });
    udp.send(msg, rinfo.port, rinfo.address);
  });
  udp.bind(udpPort, '::', up);
}

function udpEcho(port: number): void {
  const udp = createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  udp.bind(port, '::', () => process.stdout.write('ready\n'));
}

async function echoClient(address: string, port: number, sizes: readonly number[], waitMs: number): Promise<void> {
  const socket = createSocket('udp4');
  const report = { sent: 0, echoed: 0, damaged: 0, from: [] as string[] };
  socket.on('message', (msg, rinfo) => {
    if (intact(msg)) report.echoed++;
    else report.damaged++;
    const from = `${plain(rinfo.address)}:${rinfo.port}`;
    if (!report.from.includes(from)) report.from.push(from);
  });
  // An ICMP error (port unreachable) on the connected path is a lost datagram, not a crash.
  socket.on('error', () => undefined);
  for (const [seq, size] of sizes.entries()) {
    await new Promise<void>((resolve, reject) => socket.send(payload(seq, size), port, address, (err) => (err ? reject(err) : resolve())));
    report.sent++;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const deadline = Date.now() + waitMs;
  while (report.echoed + report.damaged < sizes.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  socket.close();
  line(report);
}

function main(argv: readonly string[]): void {
  const [mode, ...rest] = argv;
  const int = (s: string | undefined, what: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new Error(`outside-probe: ${what} must be a non-negative integer, got ${String(s)}`);
    return n;
  };
  if (mode === 'serve') serve(int(rest[0], 'HTTP_PORT'), int(rest[1], 'UDP_PORT'), int(rest[2], 'BYTES'));
  else if (mode === 'udp-echo') udpEcho(int(rest[0], 'PORT'));
  else if (mode === 'echo-client') {
    const sizes = (rest[2] ?? '').split(',').map((s) => int(s, 'SIZE'));
    echoClient(rest[0] ?? '', int(rest[1], 'PORT'), sizes, int(rest[3], 'WAIT_MS')).catch((err: unknown) => {
      process.stderr.write(`outside-probe echo-client: ${String(err)}\n`);
      process.exitCode = 1;
    });
  } else {
    throw new Error('usage: outside-probe serve HTTP_PORT UDP_PORT BYTES | udp-echo PORT | echo-client ADDRESS PORT SIZE,... WAIT_MS');
  }
}

if (require.main === module) main(process.argv.slice(2));

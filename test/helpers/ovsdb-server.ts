// Real ovsdb-server processes for integration tests and benchmarks: a standalone server made
// with `ovsdb-tool create`, a three-member RAFT cluster made with `ovsdb-tool create-cluster` /
// `join-cluster` on unix sockets, and TLS listeners with certificates made by openssl.
// Everything lives in one temp dir; stop() kills only the pids this helper started and removes
// the dir.

import { ChildProcess, execFile, spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { withCleanup as withSteps } from './cleanup';

export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
export const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, timeout: opts.timeoutMs ?? 30000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export async function makeTempDir(prefix = 'ovsdb-'): Promise<string> {
  // Short paths: unix socket paths are limited to 107 bytes.
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(sockPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(sockPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface TlsFiles {
  caCert: string;
  privateKey: string;
  certificate: string;
}

export interface ServerOptions {
  /** Extra listeners, e.g. `ptcp:PORT:127.0.0.1` or `pssl:PORT:127.0.0.1`. */
  extraRemotes?: string[];
  /** Server-side TLS files, needed for pssl remotes. */
  tls?: TlsFiles;
}

/** One ovsdb-server process serving one database file. */
export class OvsdbServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly name: string,
    readonly dbFile: string,
    readonly opts: ServerOptions = {},
  ) {}

  get sock(): string {
    return path.join(this.dir, `${this.name}.sock`);
  }
  get remote(): string {
    return `unix:${this.sock}`;
  }
  get ctl(): string {
    return path.join(this.dir, `${this.name}.ctl`);
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`server ${this.name} already running`);
    await fs.rm(this.sock, { force: true });
    await fs.rm(this.ctl, { force: true });
    const args = [
      this.dbFile,
      `--remote=punix:${this.sock}`,
      `--unixctl=${this.ctl}`,
      `--log-file=${path.join(this.dir, `${this.name}.log`)}`,
      '-vconsole:off',
    ];
    for (const r of this.opts.extraRemotes ?? []) args.push(`--remote=${r}`);
    if (this.opts.tls) {
      args.push(`--private-key=${this.opts.tls.privateKey}`, `--certificate=${this.opts.tls.certificate}`, `--ca-cert=${this.opts.tls.caCert}`);
    }
    const errFd = openSync(path.join(this.dir, `${this.name}.stderr`), 'a');
    const child = spawn('ovsdb-server', args, { cwd: this.dir, stdio: ['ignore', 'ignore', errFd] });
    closeSync(errFd);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    for (let i = 0; i < 200; i++) {
      if (!this.child) throw new Error(`ovsdb-server ${this.name} exited at start; see ${this.dir}/${this.name}.stderr`);
      if (await canConnect(this.sock)) return;
      await sleep(25);
    }
    await this.kill();
    throw new Error(`ovsdb-server ${this.name} did not start listening on ${this.sock}`);
  }

  /** SIGKILL (no clean shutdown), then wait for the exit. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** SIGSTOP / SIGCONT: a server that hangs without closing its sockets. */
  pause(): void {
    if (this.child?.pid !== undefined) process.kill(this.child.pid, 'SIGSTOP');
  }
  resume(): void {
    if (this.child?.pid !== undefined) process.kill(this.child.pid, 'SIGCONT');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    try {
      process.kill(child.pid, sig);
    } catch {
      // already gone
    }
    await this.exited;
  }

  async appctl(...args: string[]): Promise<string> {
    return run('ovs-appctl', ['-t', this.ctl, ...args]);
  }
}

/** A standalone database made with `ovsdb-tool create`, served by one ovsdb-server. */
export class StandaloneServer {
  readonly server: OvsdbServerProcess;
  constructor(readonly dir: string, dbFile: string, opts: ServerOptions) {
    this.server = new OvsdbServerProcess(dir, 'db', dbFile, opts);
  }
  get remote(): string {
    return this.server.remote;
  }
  get sock(): string {
    return this.server.sock;
  }
  async close(): Promise<void> {
    await this.server.kill();
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

export async function startStandalone(
  schema: string,
  opts: ServerOptions & { dir?: string } = {},
): Promise<StandaloneServer> {
  const dir = opts.dir ?? (await makeTempDir());
  const dbFile = path.join(dir, 'db.db');
  const s = new StandaloneServer(dir, dbFile, opts);
  try {
    await run('ovsdb-tool', ['create', dbFile, schema]);
    await s.server.start();
  } catch (err) {
    await s.close();
    throw err;
  }
  return s;
}

/** A RAFT cluster whose members talk over unix sockets in one temp dir. */
export class Cluster {
  constructor(readonly dir: string, readonly dbName: string, readonly members: OvsdbServerProcess[]) {}

  /** Comma-separated client remotes of all members. */
  get remotes(): string {
    return this.members.map((m) => m.remote).join(',');
  }

  async role(i: number): Promise<string | undefined> {
    const m = this.members[i];
    if (!m || !m.running) return undefined;
    try {
      const out = await m.appctl('cluster/status', this.dbName);
      return /^Role: (\S+)/m.exec(out)?.[1];
    } catch {
      return undefined;
    }
  }

  /** Index of the member that says it is leader; waits for an election. */
  async leader(timeoutMs = 20000): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      for (let i = 0; i < this.members.length; i++) if ((await this.role(i)) === 'leader') return i;
      await sleep(100);
    }
    throw new Error(`no leader elected in cluster ${this.dir}`);
  }

  async close(): Promise<void> {
    for (const m of this.members) await m.kill();
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

export async function startCluster(schema: string, size = 3): Promise<Cluster> {
  const dir = await makeTempDir('ovsdb-raft-');
  const schemaJson: unknown = JSON.parse(await fs.readFile(schema, 'utf8'));
  const dbName = typeof schemaJson === 'object' && schemaJson && 'name' in schemaJson ? String(schemaJson.name) : '';
  const members: OvsdbServerProcess[] = [];
  for (let i = 1; i <= size; i++) members.push(new OvsdbServerProcess(dir, `s${i}`, path.join(dir, `s${i}.db`)));
  const cluster = new Cluster(dir, dbName, members);
  try {
    // Absolute paths: ovsdb-server resolves relative unix paths under its run dir, not cwd.
    const raft = (i: number): string => `unix:${path.join(dir, `s${i}.raft`)}`;
    await run('ovsdb-tool', ['create-cluster', path.join(dir, 's1.db'), schema, raft(1)]);
    for (let i = 2; i <= size; i++) {
      await run('ovsdb-tool', ['join-cluster', path.join(dir, `s${i}.db`), dbName, raft(i), raft(1)]);
    }
    for (const m of members) await m.start();
    // Joined members become usable once they have caught up with the log.
    for (const m of members) await run('ovsdb-client', ['wait', m.remote, dbName, 'connected'], { timeoutMs: 30000 });
    await cluster.leader();
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

export interface Certs {
  dir: string;
  ca: string;
  server: TlsFiles;
  client: TlsFiles;
  /** A client signed by an unrelated CA: must be refused. */
  otherClient: TlsFiles;
}

async function makeCa(dir: string, name: string): Promise<{ key: string; cert: string }> {
  const key = path.join(dir, `${name}-key.pem`);
  const cert = path.join(dir, `${name}-cert.pem`);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`]);
  return { key, cert };
}

async function makeSigned(dir: string, name: string, ca: { key: string; cert: string }): Promise<{ key: string; cert: string }> {
  const key = path.join(dir, `${name}-key.pem`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}-cert.pem`);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2']);
  return { key, cert };
}

/** A CA, a server and a client certificate signed by it, and a client from another CA. */
export async function makeCerts(dir: string): Promise<Certs> {
  const ca = await makeCa(dir, 'ca');
  const other = await makeCa(dir, 'otherca');
  const server = await makeSigned(dir, 'server', ca);
  const client = await makeSigned(dir, 'client', ca);
  const otherClient = await makeSigned(dir, 'otherclient', other);
  return {
    dir,
    ca: ca.cert,
    server: { caCert: ca.cert, privateKey: server.key, certificate: server.cert },
    client: { caCert: ca.cert, privateKey: client.key, certificate: client.cert },
    otherClient: { caCert: other.cert, privateKey: otherClient.key, certificate: otherClient.cert },
  };
}

/** A standalone server that also listens on ssl (and tcp) on 127.0.0.1 ports. */
export async function startTlsServer(schema: string): Promise<{ server: StandaloneServer; certs: Certs; sslRemote: string; tcpRemote: string }> {
  const dir = await makeTempDir('ovsdb-tls-');
  try {
    const certs = await makeCerts(dir);
    const sslPort = await freePort();
    const tcpPort = await freePort();
    const server = await startStandalone(schema, {
      dir,
      tls: certs.server,
      extraRemotes: [`pssl:${sslPort}:127.0.0.1`, `ptcp:${tcpPort}:127.0.0.1`],
    });
    await waitForPort(sslPort);
    return { server, certs, sslRemote: `ssl:127.0.0.1:${sslPort}`, tcpRemote: `tcp:127.0.0.1:${tcpPort}` };
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

export type Defer = (fn: () => unknown) => void;

/**
 * withCleanup of ./cleanup for tests that register bare undo functions: runs `fn`, then every
 * cleanup it deferred, last first, each even when an earlier one failed; a failure of `fn` wins.
 */
export function withCleanup(fn: (defer: Defer) => Promise<void>): Promise<void> {
  return withSteps((cleanup) => fn((undo) => cleanup.add('deferred cleanup', async () => undo())));
}

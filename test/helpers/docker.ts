// Driving the real Docker engine from e2e tests through the 20.10 client at /usr/bin/docker
// (execFile, never a shell). A DockerScope names everything it makes `ovntest-<suffix>-...` and
// remembers it, so `cleanup()` removes every container and network a test made, pass or fail.

import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomSuffix, run, runResult, RunResult } from './run';
import { assertConnected, ConnectOptions, TrafficEnd, TrafficResult } from './traffic';

export const DOCKER = '/usr/bin/docker';
export const IMAGE = 'ovn-driver-busybox:latest';
const RESTART_SCRIPT = path.resolve(__dirname, '../../../scripts/stack.sh');

export function docker(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  return run(DOCKER, args, timeoutMs).then((out) => out.trim());
}

export function dockerResult(args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return runResult(DOCKER, args, timeoutMs);
}

export interface NetworkSpec {
  readonly driver: string;
  readonly subnets?: readonly string[];
  readonly gateways?: readonly string[];
  /** `--ip-range`s: where Docker's default IPAM hands out addresses (one per subnet). */
  readonly ipRanges?: readonly string[];
  readonly ipv6?: boolean;
  /** --internal: no route out of the network. */
  readonly internal?: boolean;
  readonly options?: Readonly<Record<string, string>>;
  /** --ipam-driver, --aux-address NAME=IP and --ipam-opt K=V. */
  readonly ipamDriver?: string;
  readonly auxAddresses?: Readonly<Record<string, string>>;
  readonly ipamOptions?: Readonly<Record<string, string>>;
}

export interface ContainerSpec {
  readonly network: string;
  readonly ip?: string;
  readonly ip6?: string;
  readonly mac?: string;
  /** `-p` arguments ([HOSTIP:]HOSTPORT[-END]:PORT[-END][/PROTO]), and -P. */
  readonly publish?: readonly string[];
  readonly publishAll?: boolean;
  /** `--expose PORT[/PROTO]`: what -P publishes (the test image exposes nothing). */
  readonly expose?: readonly string[];
  /** `-v` arguments (SRC:DST[:ro]). */
  readonly volumes?: readonly string[];
  readonly image?: string;
  readonly command?: readonly string[];
}

/** What `docker inspect` says about a container's attachment to one network. */
export interface Attachment {
  readonly networkId: string;
  readonly endpointId: string;
  readonly mac: string;
  readonly ipv4: string;
  readonly ipv6: string;
}

function field(v: unknown, key: string, what: string): unknown {
  if (typeof v !== 'object' || v === null || !(key in v)) throw new Error(`${what}: no field ${key}`);
  const record: { [k: string]: unknown } = { ...v };
  return record[key];
}

function stringField(v: unknown, key: string, what: string): string {
  const s = field(v, key, what);
  if (typeof s !== 'string') throw new Error(`${what}: field ${key} is not a string`);
  return s;
}

function firstOfArray(text: string, what: string): unknown {
  const doc: unknown = JSON.parse(text);
  if (!Array.isArray(doc) || doc.length !== 1) throw new Error(`${what}: expected one object`);
  const first: unknown = doc[0];
  return first;
}

function isGone(r: RunResult): boolean {
  return /No such (container|network)/i.test(r.stderr);
}

export class DockerScope {
  readonly prefix = `ovntest-${randomSuffix()}`;
  private readonly containers = new Set<string>();
  private readonly networks = new Set<string>();
  private readonly hostArgs: readonly string[];

  /** `host`: another dockerd's API (`unix:///PATH`); the default is the stack's. */
  constructor(host?: string) {
    this.hostArgs = host === undefined ? [] : ['-H', host];
  }

  private docker(args: readonly string[]): Promise<string> {
    return docker([...this.hostArgs, ...args]);
  }

  private dockerResult(args: readonly string[]): Promise<RunResult> {
    return dockerResult([...this.hostArgs, ...args]);
  }

  name(base: string): string {
    return `${this.prefix}-${base}`;
  }

  private networkArgs(name: string, spec: NetworkSpec): string[] {
    const args = ['network', 'create', '-d', spec.driver];
    if (spec.ipv6 === true) args.push('--ipv6');
    if (spec.internal === true) args.push('--internal');
    for (const s of spec.subnets ?? []) args.push('--subnet', s);
    for (const g of spec.gateways ?? []) args.push('--gateway', g);
    for (const r of spec.ipRanges ?? []) args.push('--ip-range', r);
    for (const [k, v] of Object.entries(spec.options ?? {})) args.push('-o', `${k}=${v}`);
    if (spec.ipamDriver !== undefined) args.push('--ipam-driver', spec.ipamDriver);
    for (const [k, v] of Object.entries(spec.auxAddresses ?? {})) args.push('--aux-address', `${k}=${v}`);
    for (const [k, v] of Object.entries(spec.ipamOptions ?? {})) args.push('--ipam-opt', `${k}=${v}`);
    args.push(name);
    return args;
  }

  /** `docker network create`, as its raw result (for requests that should be refused). */
  async tryCreateNetwork(base: string, spec: NetworkSpec): Promise<RunResult> {
    const name = this.name(base);
    this.networks.add(name); // registered first: a refusal that still created it gets removed
    return this.dockerResult(this.networkArgs(name, spec));
  }

  /** Creates a network and returns its name and id. */
  async createNetwork(base: string, spec: NetworkSpec): Promise<{ name: string; id: string }> {
    const name = this.name(base);
    const r = await this.tryCreateNetwork(base, spec);
    if (r.code !== 0) throw new Error(`failed to create network "${name}": ${r.stderr.trim()}`);
    return { name, id: r.stdout.trim() };
  }

  /** `docker run -d --net NET --name N [--ip] [--ip6] [--mac-address] IMAGE sleep 3600`. */
  async runContainer(base: string, spec: ContainerSpec): Promise<{ name: string; id: string }> {
    const name = this.name(base);
    const r = await this.tryRunContainer(base, spec);
    if (r.code !== 0) throw new Error(`failed to run container "${name}": ${r.stderr.trim()}`);
    return { name, id: r.stdout.trim() };
  }

  /** The same, as its raw result (for starts that may be refused or interrupted); removed by cleanup() either way. */
  async tryRunContainer(base: string, spec: ContainerSpec): Promise<RunResult> {
    const name = this.name(base);
    const args = ['run', '-d', '--net', spec.network, '--name', name];
    if (spec.ip !== undefined) args.push('--ip', spec.ip);
    if (spec.ip6 !== undefined) args.push('--ip6', spec.ip6);
    if (spec.mac !== undefined) args.push('--mac-address', spec.mac);
    for (const p of spec.publish ?? []) args.push('-p', p);
    if (spec.publishAll === true) args.push('-P');
    for (const e of spec.expose ?? []) args.push('--expose', e);
    for (const v of spec.volumes ?? []) args.push('-v', v);
    args.push(spec.image ?? IMAGE, ...(spec.command ?? ['sleep', '3600']));
    this.containers.add(name);
    return this.dockerResult(args);
  }

  exec(container: string, command: readonly string[]): Promise<RunResult> {
    return this.dockerResult(['exec', container, ...command]);
  }

  /** One ICMP echo from inside the container (busybox ping; IPv6 literals work too). */
  ping(container: string, address: string, count = 1, waitSeconds = 2): Promise<RunResult> {
    return this.exec(container, ['ping', '-c', String(count), '-W', String(waitSeconds), address]);
  }

  /** The container as one end of traffic: `docker exec` for its busybox, nsenter into its netns. */
  trafficEnd(container: string): TrafficEnd {
    return {
      label: container,
      scratch: '/tmp',
      // This scope's dockerd (another host's, reached through its own socket) runs the container.
      sh: (script, timeoutMs) => dockerResult([...this.hostArgs, 'exec', container, 'sh', '-c', script], timeoutMs),
      netnsPrefix: async () => ['nsenter', '-t', (await this.docker(['inspect', '-f', '{{.State.Pid}}', container])).trim(), '-n'],
    };
  }

  /** Ping, TCP and UDP from one container to another's address (helpers/traffic.ts); throws saying what failed. */
  assertConnected(from: string, to: string, address: string, opts: ConnectOptions = {}): Promise<TrafficResult> {
    return assertConnected(this.trafficEnd(from), this.trafficEnd(to), address, opts);
  }

  /**
   * assertConnected for each [from, to, address], `concurrency` at a time (each check runs
   * wget, httpd and two node processes: 50 at once would measure the host, not the network).
   * Resolves to the failures' messages, empty when every one moved its data.
   */
  async connectedAll(checks: ReadonlyArray<readonly [string, string, string]>, concurrency: number, opts: ConnectOptions = {}): Promise<string[]> {
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < checks.length; i = next++) {
        const [from, to, address] = checks[i] ?? ['', '', ''];
        await this.assertConnected(from, to, address, opts).catch((e: unknown) => failures.push(e instanceof Error ? e.message : String(e)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, checks.length) }, worker));
    return failures;
  }

  async attachment(container: string, network: string): Promise<Attachment> {
    const what = `docker inspect ${container}`;
    const doc = firstOfArray(await this.docker(['container', 'inspect', container]), what);
    const nets = field(field(doc, 'NetworkSettings', what), 'Networks', what);
    const att = field(nets, network, what);
    return {
      networkId: stringField(att, 'NetworkID', what),
      endpointId: stringField(att, 'EndpointID', what),
      mac: stringField(att, 'MacAddress', what),
      ipv4: stringField(att, 'IPAddress', what),
      ipv6: stringField(att, 'GlobalIPv6Address', what),
    };
  }

  async networkDriver(network: string): Promise<string> {
    const what = `docker network inspect ${network}`;
    return stringField(firstOfArray(await this.docker(['network', 'inspect', network]), what), 'Driver', what);
  }

  async stopContainer(name: string): Promise<void> {
    await this.docker(['stop', '-t', '1', name]);
  }

  async removeContainer(name: string): Promise<void> {
    const r = await this.dockerResult(['rm', '-f', name]);
    if (r.code !== 0 && !isGone(r)) throw new Error(`failed to remove container "${name}": ${r.stderr.trim()}`);
    this.containers.delete(name);
  }

  async removeNetwork(name: string): Promise<void> {
    const r = await this.dockerResult(['network', 'rm', name]);
    if (r.code !== 0 && !isGone(r)) throw new Error(`failed to remove network "${name}": ${r.stderr.trim()}`);
    this.networks.delete(name);
  }

  /**
   * `network rm` after the test removed the network's containers. Docker 20.10 can keep the
   * network's endpoint count raised with no endpoint behind it (a start that failed while the
   * plugin was dead; many containers removed at once), and then refuses with "has active
   * endpoints" although `docker network inspect` lists no container. Only in that case dockerd is
   * restarted (live-restore keeps containers running) to recount, the remedy the README gives
   * operators, and the removal retried; `say` reports it. Any other refusal fails.
   */
  async removeNetworkRecounting(name: string, say: (line: string) => void): Promise<void> {
    const first = await this.dockerResult(['network', 'rm', name]);
    if (first.code === 0 || isGone(first)) {
      this.networks.delete(name);
      return;
    }
    if (!/has active endpoints/.test(first.stderr)) throw new Error(`failed to remove network "${name}": ${first.stderr.trim()}`);
    const attached = (await this.docker(['network', 'inspect', '--format', '{{len .Containers}}', name])).trim();
    if (attached !== '0') throw new Error(`failed to remove network "${name}": ${attached} container(s) still attached: ${first.stderr.trim()}`);
    say(`docker kept a stale endpoint count on ${name} (no container attached); restarting dockerd to recount`);
    await run('bash', [RESTART_SCRIPT, 'restart-dockerd'], 120_000);
    await this.removeNetwork(name);
  }

  /** Removes every container, then every network, this scope made and did not remove yet. */
  async cleanup(): Promise<void> {
    const errors: string[] = [];
    for (const c of [...this.containers]) await this.removeContainer(c).catch((e: unknown) => errors.push(String(e)));
    for (const n of [...this.networks]) await this.removeNetwork(n).catch((e: unknown) => errors.push(String(e)));
    if (errors.length > 0) throw new Error(`docker cleanup failed:\n  ${errors.join('\n  ')}`);
  }
}

/** The busybox image built as scripts/stack.sh builds it, imported into the dockerd at `host`; `dir` is a scratch directory, removed after. */
export async function importImage(host: string, dir: string): Promise<void> {
  for (const sub of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) await fs.mkdir(path.join(dir, sub), { recursive: true });
  await fs.copyFile('/bin/busybox', path.join(dir, 'bin/busybox'));
  await fs.chmod(path.join(dir, 'bin/busybox'), 0o755);
  for (const applet of (await run('/bin/busybox', ['--list'])).split('\n').map((a) => a.trim()).filter((a) => a !== '' && a !== 'busybox')) {
    await fs.symlink('busybox', path.join(dir, 'bin', applet));
  }
  await fs.writeFile(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await fs.writeFile(path.join(dir, 'etc/group'), 'root:x:0:\n');
  await new Promise<void>((resolve, reject) => {
    const tar = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const imp = spawn(DOCKER, ['-H', host, 'import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["sh"]', '-', IMAGE], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    imp.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    tar.stdout?.pipe(imp.stdin ?? process.stdout);
    imp.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker import failed (${String(code)}): ${err}`))));
  });
  await fs.rm(dir, { recursive: true, force: true });
}

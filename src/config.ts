// Command line, environment and /etc/sysconfig/ovn-driver to one validated, frozen Config.
// Every option has a flag (--mtu), an environment variable (OVN_DRIVER_MTU, which is how the
// sysconfig file reaches the daemon through the unit's EnvironmentFile=) and a default; a flag
// wins over the environment. Bad values fail here, at start-up, with one line naming the option.

import * as net from 'node:net';
import * as path from 'node:path';
import yargsFactory from 'yargs/yargs';
import { parseRemotes } from './ovsdb/transport';
import { errorMessage } from './util/error-message';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type Command = 'daemon' | 'status' | 'doctor' | 'ipam-reclaim';

export interface Config {
  readonly command: Command;
  readonly socketPath: string;
  /** Group owning the plugin socket (mode 0660 then); undefined = root only, mode 0600. */
  readonly socketGroup: string | undefined;
  readonly ovsdbRemote: string;
  /** undefined = read Open_vSwitch . external_ids:ovn-nb from the local database. */
  readonly nbRemote: string | undefined;
  /** undefined fields = take them from the local database's SSL row, as ovs-vsctl does. */
  readonly tls: { readonly privateKey?: string; readonly certificate?: string; readonly caCert?: string };
  readonly bridge: string;
  readonly mtu: number;
  readonly readyTimeoutMs: number;
  readonly dbTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly logFile: string | undefined;
  /** HOST:PORT on a loopback address; undefined = no TCP listener. */
  readonly tcpListen: string | undefined;
  readonly dockerSocket: string;
  /** How often to remove what this host created and nothing owns any more; 0 = never. */
  readonly reconcileIntervalMs: number;
  /** Timing figures in response headers, for benchmarks (off: nothing measured for them). */
  readonly timingHeaders: boolean;
  /** Another dockerd's --exec-root, whose netns/ directory Join accepts too; undefined = defaults only. */
  readonly dockerExecRoot: string | undefined;
  /** The largest OVSDB message taken from a database, in bytes. */
  readonly maxMessageBytes: number;
  /** The way out (README "Reaching the outside"): a gateway host's bridge, and the external network. */
  readonly external: ExternalConfig;
  /** `ipam-reclaim CHASSIS [--force]` only: the gone host's chassis name, as typed (the command checks it). */
  readonly reclaim?: { readonly chassis: string; readonly force: boolean };
}

/** The external network every VRF leaves by, as given (the Northbound keeps the cluster's, once). */
export interface ExternalNetworkConfig {
  /** Its subnet, network address form: "198.18.250.0/24". */
  readonly cidr: string;
  readonly prefix: number;
  /** The outside router every VRF's default route points at. */
  readonly gateway: string;
  /** The VRFs' addresses, one each: FIRST-LAST inside the subnet. */
  readonly poolFirst: string;
  readonly poolLast: string;
}

export interface ExternalConfig {
  /** Set: this host is a gateway host, reaching the outside through this OVS bridge. */
  readonly bridge: string | undefined;
  /** --external-cidr, --external-gateway and --external-pool, given together; undefined = none given. */
  readonly network: ExternalNetworkConfig | undefined;
  /** This gateway host's priority among the gateway hosts (the highest live one carries the traffic). */
  readonly priority: number;
}

export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_HELP' | 'CONFIG_VERSION';

/**
 * Start-up stops here. CONFIG_INVALID: print `message` to stderr, exit 2. CONFIG_HELP and
 * CONFIG_VERSION (--help, --version): print `message` to stdout, exit 0. main.ts does the
 * printing and exiting, so parseConfig never touches the process.
 */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly exitCode: 0 | 2;
  constructor(code: ConfigErrorCode, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
    this.exitCode = code === 'CONFIG_INVALID' ? 2 : 0;
  }
}

export const DEFAULT_LOG_FILE = '/var/log/openvswitch/ovn-driver.log';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** One row per option: its flag, env var, help text and default as the sysconfig file shows it. */
export interface OptionSpec {
  readonly flag: string;
  readonly env: string;
  readonly describe: string;
  readonly defaultText: string | undefined;
  readonly arg: string;
}

function opt(flag: string, arg: string, describe: string, defaultText?: string): OptionSpec {
  return { flag, env: `OVN_DRIVER_${flag.toUpperCase().replace(/-/g, '_')}`, arg, describe, defaultText };
}

export const OPTIONS: readonly OptionSpec[] = Object.freeze([
  opt('socket', 'PATH', 'plugin socket; Docker names the driver after the file (ovn.sock = "ovn")', '/run/docker/plugins/ovn.sock'),
  opt('socket-group', 'GROUP', 'group that may use the plugin socket (mode 0660); unset = root only (0600)'),
  opt('ovsdb', 'REMOTE', 'local Open_vSwitch database (unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT)', 'unix:/var/run/openvswitch/db.sock'),
  opt('nb', 'REMOTES', 'OVN Northbound database, a comma list for a cluster; unset = Open_vSwitch external_ids:ovn-nb'),
  opt('private-key', 'FILE', 'TLS private key for ssl: remotes; unset = from the local database\'s SSL row'),
  opt('certificate', 'FILE', 'TLS certificate for ssl: remotes; unset = from the local database\'s SSL row'),
  opt('ca-cert', 'FILE', 'CA certificate that ssl: servers must present; unset = from the local database\'s SSL row'),
  opt('bridge', 'NAME', 'OVS integration bridge that container ports are plugged into', 'br-int'),
  opt('mtu', 'BYTES', 'MTU of networks that set none (68..65535; 1442 = 1500 minus Geneve overhead)', '1442'),
  opt('ready-timeout', 'SECONDS', 'how long Join waits for ovn-controller to mark a port installed', '10'),
  opt('db-timeout', 'SECONDS', 'how long a call waits for an unreachable database before it fails', '20'),
  opt('log-level', 'LEVEL', 'error, warn, info or debug (debug logs each request with its duration)', 'info'),
  opt('log-file', 'PATH', `also log to a file, reopened on SIGHUP (no PATH = ${DEFAULT_LOG_FILE})`),
  opt('tcp-listen', 'HOST:PORT', 'also serve the plugin API on TCP, loopback addresses only; unset = no TCP'),
  opt('docker-socket', 'PATH', 'Docker API socket, used by doctor and to reconcile endpoints', '/var/run/docker.sock'),
  opt('docker-exec-root', 'DIR', 'the --exec-root of a dockerd that is not at the default /var/run/docker (snap, rootless); Join then also accepts sandboxes under DIR/netns; unset = the default only'),
  opt('reconcile-interval', 'SECONDS', 'how often to remove ports and veths this host made that nothing owns any more (also at start-up); 0 = never', '60'),
  opt('timing-headers', 'on|off', 'add each call\'s handling time and CPU time (and Join\'s wait for ovn-installed) as x-ovn-driver-*-ms response headers, for benchmarks', 'off'),
  opt('external-bridge', 'BRIDGE', 'make this host a gateway host: the OVS bridge (which you create) that reaches the outside network; unset = not a gateway host (README "Reaching the outside")'),
  opt('external-cidr', 'CIDR', 'the outside network\'s IPv4 subnet, e.g. 198.18.250.0/24; with --external-gateway and --external-pool, kept once for the cluster in the Northbound'),
  opt('external-gateway', 'IP', 'the outside router that the VRFs\' default routes point at, inside --external-cidr'),
  opt('external-pool', 'FIRST-LAST', 'the addresses of --external-cidr that the VRFs leave with and publish ports on, one per VRF'),
  opt('external-priority', 'N', 'this gateway host\'s priority (1..32767): the highest-priority gateway host that is up carries every VRF\'s way out', '100'),
  opt('max-message-size', 'MIB', 'largest OVSDB message taken from a database, in MiB (1..512); a larger one ends the session and it is retried', '32'),
]);

function defaultOf(flag: string): string {
  const spec = OPTIONS.find((o) => o.flag === flag);
  if (spec?.defaultText === undefined) throw new Error(`option --${flag} has no default`);
  return spec.defaultText;
}

function invalid(flag: string, value: string, why: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', `ovn-driver: invalid --${flag} "${value}": ${why}`);
}

/** The package version: dist/src/config.js reads ../../package.json at run time; the bundle inlines it. */
export function packageVersion(): string {
  // A literal require path so esbuild inlines the file into the bundle.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const pkg: unknown = require('../../package.json');
  if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  throw new Error('failed to read version from package.json: no "version" string');
}

function numberIn(flag: string, value: string, min: number, max: number, integer: boolean): number {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw invalid(flag, value, 'not a number');
  const n = Number(value);
  if (integer && !Number.isInteger(n)) throw invalid(flag, value, 'not a whole number');
  if (n < min || n > max) throw invalid(flag, value, `out of range ${min}..${max}`);
  return n;
}

function remotes(flag: string, value: string): string {
  try {
    parseRemotes(value);
  } catch (err) {
    const why = errorMessage(err).replace(/^failed to parse OVSDB remote "[^"]*": /, '');
    throw invalid(flag, value, why);
  }
  return value;
}

/** HOST:PORT or [V6]:PORT where HOST is a literal loopback address: no TCP beyond this machine. */
function loopbackListen(flag: string, value: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(value);
  if (!m) throw invalid(flag, value, 'expected HOST:PORT, e.g. 127.0.0.1:9898 or [::1]:9898');
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw invalid(flag, value, `port ${port} out of range 1..65535`);
  const loopback = (net.isIPv4(host) && host.startsWith('127.')) || (net.isIPv6(host) && /^(0*:)*:?0*1$/.test(host) && host.includes(':'));
  if (!loopback) throw invalid(flag, value, 'not a loopback address; the plugin API has no authentication, use 127.0.0.1 or [::1]');
  return value;
}

function logLevel(flag: string, value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value);
  if (level === undefined) throw invalid(flag, value, `unknown level; use one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** DEBUG=1 (the managed plugin's setting, `docker plugin set ovn-driver DEBUG=1`) = debug logs; --log-level wins. */
function debugLevel(value: string | undefined): LogLevel | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  if (value === '1') return 'debug';
  throw new ConfigError('CONFIG_INVALID', `ovn-driver: invalid DEBUG "${value}": use 1 for debug logs or 0 for the --log-level default`);
}

function filePath(flag: string, value: string): string {
  if (value === '' || value.includes('\0')) throw invalid(flag, value, 'empty path');
  return path.resolve(value);
}

/** An absolute directory other than "/"; it need not exist yet (dockerd may start after the driver). */
function execRoot(flag: string, value: string): string {
  if (!value.startsWith('/')) throw invalid(flag, value, 'not an absolute path; give the directory dockerd was started with, e.g. --exec-root /var/snap/docker/common/run/docker');
  if (value.includes('\0') || /[\s,]/.test(value)) throw invalid(flag, value, 'a path without spaces, commas or NUL characters');
  const resolved = path.resolve(value);
  if (resolved === '/') throw invalid(flag, value, 'the root directory is not an exec root');
  return resolved;
}

function bridgeName(flag: string, value: string): string {
  // Linux interface names: at most 15 bytes, no slash, colon or whitespace.
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(value)) throw invalid(flag, value, 'not an interface name (1..15 of A-Z a-z 0-9 _ . -)');
  return value;
}

function ipv4Address(flag: string, value: string): string {
  if (!net.isIPv4(value)) throw invalid(flag, value, 'not an IPv4 address');
  return value.split('.').map(Number).join('.');
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, b) => n * 256 + Number(b), 0);
}

/** --external-cidr, --external-gateway, --external-pool: all three or none, consistent. */
function externalNetwork(cidrText: string | undefined, gatewayText: string | undefined, poolText: string | undefined): ExternalNetworkConfig | undefined {
  if (cidrText === undefined && gatewayText === undefined && poolText === undefined) return undefined;
  if (cidrText === undefined || gatewayText === undefined || poolText === undefined) {
    throw new ConfigError('CONFIG_INVALID', 'ovn-driver: --external-cidr, --external-gateway and --external-pool go together: give all three (the outside network) or none');
  }
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidrText);
  if (!m || !net.isIPv4(m[1] ?? '') || Number(m[2]) < 1 || Number(m[2]) > 30) throw invalid('external-cidr', cidrText, 'not an IPv4 subnet with a prefix length of 1..30, e.g. 198.18.250.0/24');
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const base = ipv4ToInt(m[1] ?? '') - (ipv4ToInt(m[1] ?? '') % size);
  const inside = (ip: string): boolean => ipv4ToInt(ip) > base && ipv4ToInt(ip) < base + size - 1;
  const fromInt = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
  const cidr = `${fromInt(base)}/${prefix}`;
  const gateway = ipv4Address('external-gateway', gatewayText);
  if (!inside(gateway)) throw invalid('external-gateway', gatewayText, `not a host address of --external-cidr ${cidr}`);
  const p = /^([0-9.]+)-([0-9.]+)$/.exec(poolText);
  if (!p) throw invalid('external-pool', poolText, 'expected FIRST-LAST, e.g. 198.18.250.10-198.18.250.50');
  const first = ipv4Address('external-pool', p[1] ?? '');
  const last = ipv4Address('external-pool', p[2] ?? '');
  if (!inside(first) || !inside(last)) throw invalid('external-pool', poolText, `not host addresses of --external-cidr ${cidr}`);
  if (ipv4ToInt(first) > ipv4ToInt(last)) throw invalid('external-pool', poolText, 'the first address is after the last');
  if (ipv4ToInt(gateway) >= ipv4ToInt(first) && ipv4ToInt(gateway) <= ipv4ToInt(last)) throw invalid('external-pool', poolText, `it holds the --external-gateway ${gateway}`);
  return { cidr, prefix, gateway, poolFirst: first, poolLast: last };
}

function onOff(flag: string, value: string): boolean {
  if (value !== 'on' && value !== 'off') throw invalid(flag, value, 'use on or off');
  return value === 'on';
}

function groupName(flag: string, value: string): string {
  if (!/^([a-z_][a-z0-9_-]{0,31}\$?|[0-9]+)$/i.test(value)) throw invalid(flag, value, 'not a group name or number');
  return value;
}

function buildParser(): ReturnType<typeof yargsFactory> {
  let y = yargsFactory()
    .scriptName('ovn-driver')
    .usage('Usage: $0 [command] [options]\n\nDocker network plugin for OVN. Every option can also be set by the environment\nvariable shown, e.g. in /etc/sysconfig/ovn-driver; a flag wins over the environment.')
    .command('$0', 'run the plugin daemon (the default)')
    .command('status', 'print what the running daemon holds: connections, networks, endpoints')
    .command('doctor', 'check each prerequisite and print pass/fail with the fix')
    .command('ipam-reclaim [chassis]', 'free the --ipam-driver ovn addresses of a host that is gone for good (its chassis name, Open_vSwitch external_ids:system-id); refused while the Northbound has logical ports of that chassis', (c) =>
      c.positional('chassis', { describe: 'the gone host\'s chassis name', type: 'string' })
        .option('force', { describe: 'reclaim even though the Northbound still has logical ports of that chassis (they are left)', type: 'boolean' }))
    .strict()
    .parserConfiguration({ 'duplicate-arguments-array': false, 'parse-numbers': false, 'parse-positional-numbers': false, 'boolean-negation': false })
    .help('help')
    .alias('help', 'h')
    .version('version', 'print the version and exit', packageVersion())
    .wrap(100);
  for (const o of OPTIONS) {
    // No `type`: values stay strings ('parse-numbers' off) and are checked below; --log-file
    // alone arrives as `true`.
    y = y.option(o.flag, {
      describe: `${o.describe} (env ${o.env})`,
      defaultDescription: o.defaultText,
      // --log-file alone means the default file; every other option needs its value.
      requiresArg: o.flag !== 'log-file',
    });
  }
  return y;
}

/** yargs' messages, reworded to name the option as the user typed it. */
function explain(message: string, argv: readonly string[]): string {
  const first = message.split('\n')[0] ?? message;
  const unknown = /^Unknown arguments?: (.*)$/.exec(first);
  if (unknown) {
    const names = (unknown[1] ?? '').split(', ');
    return names.map((n) => (argv.includes(n) ? `unknown command "${n}"` : `unknown option --${n}`)).join(', ');
  }
  const missing = /^Not enough arguments following: (.*)$/.exec(first);
  if (missing) return `option --${missing[1] ?? ''} needs a value`;
  return first;
}

/** Parses argv (without node and script) and env; throws ConfigError. The result is frozen. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  const parser = buildParser();
  let parsed: Record<string, unknown> | undefined;
  let failure: string | undefined;
  let output = '';
  parser.parse([...argv], {}, (err: Error | undefined, args: Record<string, unknown>, out: string) => {
    if (err) failure = err.message;
    parsed = args;
    output = out;
  });
  if (failure !== undefined) throw new ConfigError('CONFIG_INVALID', `ovn-driver: ${explain(failure, argv)}; see ovn-driver --help`);
  if (parsed === undefined) throw new ConfigError('CONFIG_INVALID', 'ovn-driver: failed to parse the command line');
  if (parsed['help'] === true) throw new ConfigError('CONFIG_HELP', output);
  if (parsed['version'] === true) throw new ConfigError('CONFIG_VERSION', output);
  const args = parsed;

  const positional = Array.isArray(args['_']) ? args['_'].map(String) : [];
  if (positional.length > 1) throw new ConfigError('CONFIG_INVALID', `ovn-driver: unexpected argument "${positional[1]}"; see ovn-driver --help`);
  const cmd = positional[0] ?? 'daemon';
  if (cmd !== 'daemon' && cmd !== 'status' && cmd !== 'doctor' && cmd !== 'ipam-reclaim') {
    throw new ConfigError('CONFIG_INVALID', `ovn-driver: unknown command "${cmd}"; use status, doctor or ipam-reclaim, or no command to run the daemon`);
  }
  let reclaim: Config['reclaim'];
  if (cmd === 'ipam-reclaim') {
    const chassis = args['chassis'];
    if (typeof chassis !== 'string') throw new ConfigError('CONFIG_INVALID', 'ovn-driver: ipam-reclaim needs the chassis name of the gone host: ovn-driver ipam-reclaim CHASSIS [--force]; see ovn-driver --help');
    reclaim = { chassis, force: args['force'] === true };
  }

  // A flag wins; otherwise a non-empty environment variable; otherwise undefined.
  const raw = (flag: string): string | undefined => {
    const v = args[flag];
    if (typeof v === 'string') return v;
    if (v === true) return '';
    const spec = OPTIONS.find((o) => o.flag === flag);
    const e = spec === undefined ? undefined : env[spec.env];
    return e === undefined || e === '' ? undefined : e;
  };
  const withDefault = (flag: string): string => raw(flag) ?? defaultOf(flag);
  const optional = <T>(flag: string, check: (flag: string, value: string) => T): T | undefined => {
    const v = raw(flag);
    return v === undefined ? undefined : check(flag, v);
  };

  const logFileRaw = raw('log-file');
  const privateKey = optional('private-key', filePath);
  const certificate = optional('certificate', filePath);
  const caCert = optional('ca-cert', filePath);
  const tls = {
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(certificate !== undefined ? { certificate } : {}),
    ...(caCert !== undefined ? { caCert } : {}),
  };

  const config: Config = {
    command: cmd,
    socketPath: filePath('socket', withDefault('socket')),
    socketGroup: optional('socket-group', groupName),
    ovsdbRemote: remotes('ovsdb', withDefault('ovsdb')),
    nbRemote: optional('nb', remotes),
    tls: Object.freeze(tls),
    bridge: bridgeName('bridge', withDefault('bridge')),
    mtu: numberIn('mtu', withDefault('mtu'), 68, 65535, true),
    readyTimeoutMs: Math.round(numberIn('ready-timeout', withDefault('ready-timeout'), 0.001, 3600, false) * 1000),
    dbTimeoutMs: Math.round(numberIn('db-timeout', withDefault('db-timeout'), 0.001, 3600, false) * 1000),
    logLevel: logLevel('log-level', raw('log-level') ?? debugLevel(env['DEBUG']) ?? defaultOf('log-level')),
    // `--log-file` with no value arrives as "" and means the default file.
    logFile: logFileRaw === undefined ? undefined : logFileRaw === '' ? DEFAULT_LOG_FILE : filePath('log-file', logFileRaw),
    tcpListen: optional('tcp-listen', loopbackListen),
    dockerSocket: filePath('docker-socket', withDefault('docker-socket')),
    reconcileIntervalMs: Math.round(numberIn('reconcile-interval', withDefault('reconcile-interval'), 0, 86400, false) * 1000),
    timingHeaders: onOff('timing-headers', withDefault('timing-headers')),
    dockerExecRoot: optional('docker-exec-root', execRoot),
    // Up to 512 MiB: the framer keeps a message as one string, and V8's strings end near there.
    maxMessageBytes: numberIn('max-message-size', withDefault('max-message-size'), 1, 512, true) * 1024 * 1024,
    external: Object.freeze({
      bridge: optional('external-bridge', bridgeName),
      network: externalNetwork(raw('external-cidr'), raw('external-gateway'), raw('external-pool')),
      priority: numberIn('external-priority', withDefault('external-priority'), 1, 32767, true),
    }),
    ...(reclaim !== undefined ? { reclaim: Object.freeze(reclaim) } : {}),
  };
  return Object.freeze(config);
}

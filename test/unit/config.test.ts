import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, DEFAULT_LOG_FILE, OPTIONS, parseConfig } from '../../src/config';

const ROOT = path.join(__dirname, '..', '..', '..');

function fails(argv: string[], env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail(`parseConfig(${JSON.stringify(argv)}) did not fail`);
}

test('defaults describe a standard OVN host', () => {
  const c = parseConfig([], {});
  assert.equal(c.command, 'daemon');
  assert.equal(c.socketPath, '/run/docker/plugins/ovn.sock');
  assert.equal(c.socketGroup, undefined);
  assert.equal(c.ovsdbRemote, 'unix:/var/run/openvswitch/db.sock');
  assert.equal(c.nbRemote, undefined);
  assert.deepEqual(c.tls, {});
  assert.equal(c.bridge, 'br-int');
  assert.equal(c.mtu, 1442);
  assert.equal(c.readyTimeoutMs, 10000);
  assert.equal(c.dbTimeoutMs, 20000);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.logFile, undefined);
  assert.equal(c.tcpListen, undefined);
  assert.equal(c.dockerSocket, '/var/run/docker.sock');
  assert.equal(c.timingHeaders, false);
  assert.equal(c.dockerExecRoot, undefined);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.tls));
});

test('--docker-exec-root must be an absolute directory other than /', () => {
  assert.match(fails(['--docker-exec-root', 'run/docker']).message, /invalid --docker-exec-root "run\/docker": not an absolute path/);
  assert.match(fails(['--docker-exec-root', '/']).message, /the root directory is not an exec root/);
  assert.match(fails([], { OVN_DRIVER_DOCKER_EXEC_ROOT: '/a b' }).message, /without spaces/);
  assert.equal(parseConfig(['--docker-exec-root', '/tmp/x/../exec'], {}).dockerExecRoot, '/tmp/exec');
});

test('every option is read from its flag and from its environment variable', () => {
  const values: Record<string, [string, (c: ReturnType<typeof parseConfig>) => unknown, unknown]> = {
    socket: ['/tmp/x/ovn.sock', (c) => c.socketPath, '/tmp/x/ovn.sock'],
    'socket-group': ['docker', (c) => c.socketGroup, 'docker'],
    ovsdb: ['tcp:127.0.0.1:6640', (c) => c.ovsdbRemote, 'tcp:127.0.0.1:6640'],
    nb: ['ssl:198.18.0.1:6641,ssl:198.18.0.2:6641', (c) => c.nbRemote, 'ssl:198.18.0.1:6641,ssl:198.18.0.2:6641'],
    'private-key': ['/etc/k.pem', (c) => c.tls.privateKey, '/etc/k.pem'],
    certificate: ['/etc/c.pem', (c) => c.tls.certificate, '/etc/c.pem'],
    'ca-cert': ['/etc/ca.pem', (c) => c.tls.caCert, '/etc/ca.pem'],
    bridge: ['br-test', (c) => c.bridge, 'br-test'],
    mtu: ['9000', (c) => c.mtu, 9000],
    'ready-timeout': ['2.5', (c) => c.readyTimeoutMs, 2500],
    'db-timeout': ['7', (c) => c.dbTimeoutMs, 7000],
    'log-level': ['debug', (c) => c.logLevel, 'debug'],
    'log-file': ['/tmp/ovn-driver.log', (c) => c.logFile, '/tmp/ovn-driver.log'],
    'tcp-listen': ['127.0.0.1:9898', (c) => c.tcpListen, '127.0.0.1:9898'],
    'docker-socket': ['/tmp/docker.sock', (c) => c.dockerSocket, '/tmp/docker.sock'],
    'reconcile-interval': ['0', (c) => c.reconcileIntervalMs, 0],
    'timing-headers': ['on', (c) => c.timingHeaders, true],
    'docker-exec-root': ['/var/snap/docker/common/run/docker/', (c) => c.dockerExecRoot, '/var/snap/docker/common/run/docker'],
    'max-message-size': ['64', (c) => c.maxMessageBytes, 64 * 1024 * 1024],
    'external-bridge': ['br-ext', (c) => c.external.bridge, 'br-ext'],
    'external-cidr': ['198.18.250.7/24', (c) => c.external.network?.cidr, '198.18.250.0/24'],
    'external-gateway': ['198.18.250.1', (c) => c.external.network?.gateway, '198.18.250.1'],
    'external-pool': ['198.18.250.10-198.18.250.20', (c) => [c.external.network?.poolFirst, c.external.network?.poolLast], ['198.18.250.10', '198.18.250.20']],
    'external-priority': ['200', (c) => c.external.priority, 200],
  };
  // The outside network's three values go together: each is given with the other two.
  const together: Readonly<Record<string, Record<string, string>>> = {
    'external-cidr': { OVN_DRIVER_EXTERNAL_GATEWAY: '198.18.250.1', OVN_DRIVER_EXTERNAL_POOL: '198.18.250.10-198.18.250.20' },
    'external-gateway': { OVN_DRIVER_EXTERNAL_CIDR: '198.18.250.0/24', OVN_DRIVER_EXTERNAL_POOL: '198.18.250.10-198.18.250.20' },
    'external-pool': { OVN_DRIVER_EXTERNAL_CIDR: '198.18.250.0/24', OVN_DRIVER_EXTERNAL_GATEWAY: '198.18.250.1' },
  };
  assert.deepEqual(Object.keys(values).sort(), OPTIONS.map((o) => o.flag).sort());
  for (const o of OPTIONS) {
    const entry = values[o.flag];
    assert.ok(entry !== undefined);
    const [text, pick, expected] = entry;
    const others = together[o.flag] ?? {};
    assert.deepEqual(pick(parseConfig([`--${o.flag}`, text], others)), expected, `--${o.flag}`);
    assert.deepEqual(pick(parseConfig([], { ...others, [o.env]: text })), expected, o.env);
  }
});

test('the outside network: all three values or none, consistent, each refused with one line naming it', () => {
  const net = ['--external-cidr', '198.18.250.0/24', '--external-gateway', '198.18.250.1', '--external-pool', '198.18.250.10-198.18.250.50'];
  assert.equal(parseConfig([], {}).external.network, undefined);
  assert.equal(parseConfig([], {}).external.bridge, undefined);
  assert.equal(parseConfig([], {}).external.priority, 100);
  assert.deepEqual(parseConfig(net, {}).external.network, { cidr: '198.18.250.0/24', prefix: 24, gateway: '198.18.250.1', poolFirst: '198.18.250.10', poolLast: '198.18.250.50' });
  const refused = (argv: string[], re: RegExp): void => {
    assert.throws(() => parseConfig(argv, {}), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID' && re.test(e.message) && !e.message.includes('\n'));
  };
  refused(net.slice(0, 4), /go together: give all three/);
  refused(['--external-cidr', '198.18.250.0/33', ...net.slice(2)], /invalid --external-cidr/);
  refused([...net.slice(0, 2), '--external-gateway', '198.18.251.1', ...net.slice(4)], /invalid --external-gateway "198\.18\.251\.1": not a host address of --external-cidr 198\.18\.250\.0\/24/);
  refused([...net.slice(0, 4), '--external-pool', '198.18.250.50-198.18.250.10'], /first address is after the last/);
  refused([...net.slice(0, 4), '--external-pool', '198.18.250.1-198.18.250.10'], /holds the --external-gateway/);
  refused([...net.slice(0, 4), '--external-pool', '198.18.250.10-198.18.251.10'], /not host addresses/);
  refused(['--external-priority', '0'], /invalid --external-priority/);
  refused(['--external-bridge', 'no/slash'], /invalid --external-bridge/);
});

test('the OVSDB message limit is 32 MiB unless set', () => {
  assert.equal(parseConfig([], {}).maxMessageBytes, 32 * 1024 * 1024);
});

test('a flag wins over the environment, and an empty variable counts as unset', () => {
  assert.equal(parseConfig(['--mtu', '1400'], { OVN_DRIVER_MTU: '9000' }).mtu, 1400);
  assert.equal(parseConfig([], { OVN_DRIVER_MTU: '' }).mtu, 1442);
  assert.equal(parseConfig(['--mtu=1300'], {}).mtu, 1300);
});

test('--log-file without a path means the Open vSwitch log directory', () => {
  assert.equal(parseConfig(['--log-file'], {}).logFile, DEFAULT_LOG_FILE);
  assert.equal(parseConfig(['--log-file', '--mtu', '1500'], {}).logFile, DEFAULT_LOG_FILE);
});

test('status and doctor are commands; anything else is refused', () => {
  assert.equal(parseConfig(['status'], {}).command, 'status');
  assert.equal(parseConfig(['doctor', '--nb', 'tcp:127.0.0.1:6641'], {}).command, 'doctor');
  const e = fails(['restart']);
  assert.match(e.message, /unknown command "restart"/);
});

test('ipam-reclaim takes the chassis name and --force; --force belongs to it alone', () => {
  const c = parseConfig(['ipam-reclaim', 'host-2', '--nb', 'tcp:127.0.0.1:6641'], {});
  assert.equal(c.command, 'ipam-reclaim');
  assert.deepEqual(c.reclaim, { chassis: 'host-2', force: false });
  assert.deepEqual(parseConfig(['ipam-reclaim', '--force', 'host-2'], {}).reclaim, { chassis: 'host-2', force: true });
  assert.equal(parseConfig([], {}).reclaim, undefined);
  assert.match(fails(['ipam-reclaim']).message, /^ovn-driver: ipam-reclaim needs the chassis name of the gone host: ovn-driver ipam-reclaim CHASSIS \[--force\]/);
  assert.match(fails(['ipam-reclaim', 'a', 'b']).message, /unknown command "b"/);
  assert.match(fails(['status', '--force']).message, /unknown option --force/);
});

test('bad values stop start-up with one line naming the option, exit code 2', () => {
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--mtu', 'abc'], {}, /--mtu "abc": not a number/],
    [['--mtu', '67'], {}, /--mtu "67": out of range 68\.\.65535/],
    [['--mtu', '65536'], {}, /--mtu "65536": out of range/],
    [['--mtu', '1500.5'], {}, /--mtu "1500\.5": not a whole number/],
    [[], { OVN_DRIVER_MTU: '-1' }, /--mtu "-1": not a number/],
    [['--ovsdb', 'db.sock'], {}, /--ovsdb "db\.sock": unknown connection method/],
    [['--nb', 'tcp:198.18.0.1:99999'], {}, /--nb "tcp:198\.18\.0\.1:99999": port 99999 out of range/],
    [['--nb', 'ptcp:6641'], {}, /--nb "ptcp:6641":.*listening remote/],
    [['--nb', 'tcp:fd00::1:6641'], {}, /--nb .*IPv6 addresses must be in brackets/],
    [['--tcp-listen', '0.0.0.0:9898'], {}, /--tcp-listen "0\.0\.0\.0:9898": not a loopback address/],
    [['--tcp-listen', '198.18.0.1:9898'], {}, /--tcp-listen .*not a loopback address/],
    [['--tcp-listen', 'localhost:9898'], {}, /--tcp-listen .*not a loopback address/],
    [['--tcp-listen', '[::]:9898'], {}, /--tcp-listen .*not a loopback address/],
    [['--tcp-listen', '127.0.0.1'], {}, /--tcp-listen "127\.0\.0\.1": expected HOST:PORT/],
    [['--tcp-listen', '127.0.0.1:0'], {}, /--tcp-listen .*port 0 out of range/],
    [['--log-level', 'verbose'], {}, /--log-level "verbose": unknown level; use one of error, warn, info, debug/],
    [['--bridge', 'a-name-longer-than-15'], {}, /--bridge .*not an interface name/],
    [['--ready-timeout', '0'], {}, /--ready-timeout "0": out of range/],
    [['--socket-group', 'a b'], {}, /--socket-group "a b": not a group name/],
    [['--frobnicate'], {}, /unknown option --frobnicate/],
    [['--mtu'], {}, /option --mtu needs a value/],
    [['--max-message-size', '0'], {}, /--max-message-size "0": out of range 1\.\.512/],
    [['--max-message-size', '1024'], {}, /--max-message-size "1024": out of range 1\.\.512/],
    [['--max-message-size', '1.5'], {}, /--max-message-size "1\.5": not a whole number/],
    [[], { OVN_DRIVER_MAX_MESSAGE_SIZE: '32M' }, /--max-message-size "32M": not a number/],
    [['--no-mtu'], {}, /unknown option --no-mtu/],
    [['--timing-headers', 'yes'], {}, /--timing-headers "yes": use on or off/],
    [[], { OVN_DRIVER_TIMING_HEADERS: 'true' }, /--timing-headers "true": use on or off/],
  ];
  for (const [argv, env, re] of cases) {
    const e = fails(argv, env);
    assert.equal(e.code, 'CONFIG_INVALID', argv.join(' '));
    assert.equal(e.exitCode, 2);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.ok(!/\bat .*\.js:\d+/.test(e.message), 'no stack trace');
  }
});

test('loopback TCP listeners are accepted', () => {
  assert.equal(parseConfig(['--tcp-listen', '127.0.0.1:9898'], {}).tcpListen, '127.0.0.1:9898');
  assert.equal(parseConfig(['--tcp-listen', '127.1.2.3:1'], {}).tcpListen, '127.1.2.3:1');
  assert.equal(parseConfig(['--tcp-listen', '[::1]:9898'], {}).tcpListen, '[::1]:9898');
});

test('--help lists every option with its environment variable; --version is package.json', () => {
  const help = fails(['--help']);
  assert.equal(help.code, 'CONFIG_HELP');
  assert.equal(help.exitCode, 0);
  for (const o of OPTIONS) {
    assert.ok(help.message.includes(`--${o.flag}`), `--${o.flag} in help`);
    assert.ok(help.message.includes(o.env), `${o.env} in help`);
  }
  assert.match(help.message, /status/);
  assert.match(help.message, /doctor/);
  const pkg: unknown = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.ok(typeof pkg === 'object' && pkg !== null && 'version' in pkg);
  const version = fails(['--version']);
  assert.equal(version.code, 'CONFIG_VERSION');
  assert.equal(version.message.trim(), pkg.version);
});

test('the sysconfig file has a commented-out line for every option, with its default', () => {
  const text = readFileSync(path.join(ROOT, 'systemd', 'ovn-driver.sysconfig'), 'utf8');
  for (const o of OPTIONS) {
    const line = text.split('\n').find((l) => l.startsWith(`#${o.env}=`));
    assert.ok(line !== undefined, `#${o.env}= in sysconfig`);
    if (o.defaultText !== undefined) assert.equal(line, `#${o.env}=${o.defaultText}`);
  }
  // Nothing is set by default: the daemon's defaults are the documented ones.
  assert.deepEqual(text.split('\n').filter((l) => /^[A-Z]/.test(l)), []);
});

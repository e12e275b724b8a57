// Hostile requests for the plugin socket, generated from a seed (printed by the test, so a
// failure can be replayed): wrong types, huge strings, bad CIDRs and MACs, unicode, ids that are
// not 64 hex digits, SandboxKeys outside Docker's netns directory, names with shell and path
// characters, unknown paths, oversized and truncated bodies. None of them may change anything:
// each carries at least one defect the driver must refuse, or names a network or endpoint that
// does not exist (a delete of what is not there is a no-op).

/** mulberry32: a small seeded PRNG, the same sequence on every Node version. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('failed to pick from an empty list');
    // The index is in range, so the element is a T (which may itself be undefined).
    return items[this.int(items.length)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'.charAt(this.int(16));
    return s;
  }
}

export type FuzzKind =
  | 'wrong-type' | 'huge-string' | 'bad-cidr' | 'bad-mac' | 'unicode' | 'bad-id' | 'sandbox-key'
  | 'shell-chars' | 'unknown-path' | 'truncated' | 'not-json' | 'bad-option' | 'oversized' | 'unknown-object';

export const FUZZ_KINDS: readonly FuzzKind[] = [
  'wrong-type', 'huge-string', 'bad-cidr', 'bad-mac', 'unicode', 'bad-id', 'sandbox-key',
  'shell-chars', 'unknown-path', 'truncated', 'not-json', 'bad-option', 'oversized', 'unknown-object',
];

export interface FuzzRequest {
  readonly kind: FuzzKind;
  readonly method: 'POST' | 'GET' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly body: Buffer;
  readonly contentType: string | undefined;
}

/** Bodies above this are refused by the server (its 1 MiB limit) before any parsing. */
export const OVERSIZED_BYTES = 1024 * 1024 + 4096;

export const CALLS: readonly string[] = [
  'Plugin.Activate', 'NetworkDriver.GetCapabilities', 'NetworkDriver.CreateNetwork', 'NetworkDriver.DeleteNetwork',
  'NetworkDriver.AllocateNetwork', 'NetworkDriver.FreeNetwork', 'NetworkDriver.CreateEndpoint', 'NetworkDriver.DeleteEndpoint',
  'NetworkDriver.EndpointOperInfo', 'NetworkDriver.Join', 'NetworkDriver.Leave', 'NetworkDriver.ProgramExternalConnectivity',
  'NetworkDriver.RevokeExternalConnectivity', 'NetworkDriver.DiscoverNew', 'NetworkDriver.DiscoverDelete',
];

// Calls that create something when their request is valid: their bodies always get a defect.
const CREATING = ['NetworkDriver.CreateNetwork', 'NetworkDriver.CreateEndpoint', 'NetworkDriver.Join'];
// Calls whose body carries ids (the others take an empty body or DiscoveryType).
const ID_CALLS = CALLS.filter((c) => c.startsWith('NetworkDriver.') && !['NetworkDriver.GetCapabilities', 'NetworkDriver.DiscoverNew', 'NetworkDriver.DiscoverDelete'].includes(c));

export const BAD_CIDRS: readonly string[] = [
  '198.18.0.0/33', '198.18.0.256/24', '198.18.0/24', '198.18.0.0', '198.18.0.0/', '198.18.0.0/-1', '198.18.0.0/24/8',
  ' 198.18.0.0/24', '198.18.0.0/24 ', '0x10.0.0.0/8', '198.018.0.0/24', '198.18.0.0/2a', '::/129', 'fd00::g/64',
  'fd00:::1/64', 'fd00::1::2/64', '1:2:3:4:5:6:7:8:9/64', '/24', '', '198.18.0.0\n/24', '198.18.0.0/24,198.19.0.0/24',
  '٣.٣.٣.٣/24', '198.18.0.0/024x', 'localhost/24', '-198.18.0.0/24', '198.18.0.0/4294967320',
];

export const BAD_MACS: readonly string[] = [
  '02:42:c6:12:0a', '02:42:c6:12:0a:02:03', '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00',
  'zz:42:c6:12:0a:02', '0242.c612.0a02', '02:42:c6:12:0a:2', ' 02:42:c6:12:0a:02', '02:42:c6:12:0a:02\n',
  '02:42:c6:12:0a:0g', '02::42:c6:12:0a', 'ＦＦ:42:c6:12:0a:02', '02:42:c6:12:0a:02; reboot',
];

export const BAD_SANDBOX_KEYS: readonly string[] = [
  '/tmp/netns', '/proc/self/ns/net', '/proc/1/ns/net', '/var/run/docker/netns/', '/var/run/docker/netns/../../../proc/1/ns/net',
  '/var/run/docker/netns/a/b', 'var/run/docker/netns/abc', '/var/run/docker/netns/..', '/var/run/docker/netns/.hidden',
  '/var/run/docker/netns/abc\u0000/../x', '/run/docker/netns/$(id)', '/var/run/docker/netns/abc;reboot', '/var/run/docker/netnsX/abc',
  '/var/run/docker/netns/' + 'a'.repeat(300), '//var/run/docker/netns/abc', '/var/run/docker//netns/abc', '',
];

export const SHELL_STRINGS: readonly string[] = [
  '$(reboot)', '`id`', '; rm -rf /', '| nc 198.18.0.1 1', '&& true', '../../etc/passwd', '/etc/shadow', 'a b', "'\"", '\\',
  '$IFS', '${PATH}', '>/tmp/x', '<x', '\n', '\r\n', '*', '?', '~root', '-rf', '--help', '%s%s%n', '%00', 'br-int', 'ovn1234567890ab',
];

const UNICODE_STRINGS: readonly string[] = [
  '٠١٢٣٤٥٦٧٨٩', '０１２３４５６７８９ａｂｃｄｅｆ', '\u202eevil', '\ud800', '\udfff\ud800', '😀'.repeat(32), 'e\u0301',
  '\u0000', '\u200b', 'ıİ', 'ǅ', '\ufeff', 'ﬀ',
];

function hugeString(rng: Prng): string {
  const n = rng.pick([4096, 65_536, 300_000, 900_000]);
  return rng.pick(['a', 'f', '0', '😀', '\u0000', '%']).repeat(n).slice(0, n);
}

function wrongValue(rng: Prng): unknown {
  const options: Array<() => unknown> = [
    () => null, () => true, () => false, () => 0, () => -1, () => 1.5, () => 1e308, () => Number.MAX_SAFE_INTEGER + 2,
    () => [], () => [rng.hex(64)], () => ({}), () => ({ a: rng.hex(64) }), () => '', () => rng.hex(64).toUpperCase(),
    () => { let v: unknown = rng.hex(64); for (let i = 0; i < 64; i++) v = [v]; return v; },
    () => { let v: unknown = 'x'; for (let i = 0; i < 64; i++) v = { v }; return v; },
  ];
  return rng.pick(options)();
}

/** An id that is not 64 lowercase hex digits. */
function badId(rng: Prng): string {
  const id = rng.hex(64);
  const options: Array<() => string> = [
    () => id.slice(0, 63), () => `${id}0`, () => id.toUpperCase(), () => `${id}\n`, () => `\n${id}`, () => ` ${id}`,
    () => id.slice(0, 12), () => '', () => `${id.slice(0, 63)}g`, () => `${id.slice(0, 60)}../x`, () => `${id.slice(0, 32)}-${id.slice(33)}`,
    () => `0x${id.slice(2)}`, () => `${id.slice(0, 63)}\u0000`, () => `${id.slice(0, 62)}٠٠`,
  ];
  return rng.pick(options)();
}

/** A well-formed request for `call`, naming a network and endpoint that do not exist. */
function baseBody(rng: Prng, call: string): Record<string, unknown> {
  const networkId = rng.hex(64);
  const endpointId = rng.hex(64);
  const octet = rng.int(256);
  switch (call) {
    case 'Plugin.Activate':
    case 'NetworkDriver.GetCapabilities':
      return {};
    case 'NetworkDriver.CreateNetwork':
      return {
        NetworkID: networkId,
        Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
        IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: `198.18.${octet}.0/24`, Gateway: `198.18.${octet}.1/24` }],
        IPv6Data: [],
      };
    case 'NetworkDriver.CreateEndpoint':
      return { NetworkID: networkId, EndpointID: endpointId, Interface: { Address: `198.18.${octet}.2/24`, AddressIPv6: '', MacAddress: '' }, Options: {} };
    case 'NetworkDriver.Join':
      return { NetworkID: networkId, EndpointID: endpointId, SandboxKey: `/var/run/docker/netns/${rng.hex(12)}`, Options: {} };
    case 'NetworkDriver.DiscoverNew':
    case 'NetworkDriver.DiscoverDelete':
      return { DiscoveryType: 1, DiscoveryData: { Address: '198.18.0.1', BindAddress: '198.18.0.1' } };
    case 'NetworkDriver.DeleteNetwork':
    case 'NetworkDriver.AllocateNetwork':
    case 'NetworkDriver.FreeNetwork':
      return { NetworkID: networkId };
    default:
      return { NetworkID: networkId, EndpointID: endpointId, Options: {} };
  }
}

/** A field of the body to damage (a top-level or a nested one), as a setter. */
function anyField(rng: Prng, body: Record<string, unknown>): (v: unknown) => void {
  const keys = Object.keys(body);
  const iface = body['Interface'];
  const ipam = body['IPv4Data'];
  const targets: Array<(v: unknown) => void> = keys.map((k) => (v: unknown) => { body[k] = v; });
  if (typeof iface === 'object' && iface !== null && !Array.isArray(iface)) {
    const obj: Record<string, unknown> = { ...iface };
    body['Interface'] = obj;
    for (const k of Object.keys(obj)) targets.push((v) => { obj[k] = v; });
  }
  if (Array.isArray(ipam) && typeof ipam[0] === 'object' && ipam[0] !== null) {
    const entry: Record<string, unknown> = { ...ipam[0] };
    body['IPv4Data'] = [entry];
    for (const k of Object.keys(entry)) targets.push((v) => { entry[k] = v; });
  }
  if (targets.length === 0) return (v) => { body['Unexpected'] = v; };
  return rng.pick(targets);
}

function idField(rng: Prng, body: Record<string, unknown>): 'NetworkID' | 'EndpointID' {
  return 'EndpointID' in body && rng.chance(0.5) ? 'EndpointID' : 'NetworkID';
}

function json(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** One hostile request of a random kind (or of `kind`). */
export function fuzzRequest(rng: Prng, kind: FuzzKind = rng.pick(FUZZ_KINDS)): FuzzRequest {
  const idCall = rng.pick(ID_CALLS);
  const post = (path: string, body: Buffer, contentType: string | undefined = rng.pick([undefined, 'application/json', 'application/vnd.docker.plugins.v1.2+json'])): FuzzRequest =>
    ({ kind, method: 'POST', path, body, contentType });
  switch (kind) {
    case 'wrong-type': {
      const call = rng.pick(CALLS);
      const body = baseBody(rng, call);
      // A body that is not an object at all, or one field of the wrong type. For calls with an
      // empty body (Activate, GetCapabilities), only a non-object body is wrong.
      if (rng.chance(0.3) || Object.keys(body).length === 0) return post(`/${call}`, json(rng.pick([[], 'x', 42, true, null, [{}]])));
      if (call === 'NetworkDriver.DiscoverNew' || call === 'NetworkDriver.DiscoverDelete') {
        body['DiscoveryType'] = rng.pick(['1', 1.5, null, [], {}, true]);
        return post(`/${call}`, json(body));
      }
      body[idField(rng, body)] = wrongValue(rng);
      return post(`/${call}`, json(body));
    }
    case 'huge-string': {
      const call = rng.pick(CREATING);
      const body = baseBody(rng, call);
      // A huge id, or a huge value elsewhere plus a bad id (so a valid rest creates nothing).
      body[idField(rng, body)] = hugeString(rng).slice(0, 200_000);
      if (rng.chance(0.5)) anyField(rng, body)(hugeString(rng));
      return post(`/${call}`, json(body));
    }
    case 'bad-cidr': {
      const call = rng.pick(['NetworkDriver.CreateNetwork', 'NetworkDriver.CreateEndpoint']);
      const body = baseBody(rng, call);
      const cidr = rng.pick(BAD_CIDRS);
      if (call === 'NetworkDriver.CreateNetwork') {
        const entry: Record<string, unknown> = { AddressSpace: 'LocalDefault', Pool: '198.18.0.0/24', Gateway: '198.18.0.1/24' };
        // '' is an allowed (absent) Gateway, so an empty string only goes into Pool.
        if (cidr === '' || rng.chance(0.5)) entry['Pool'] = cidr;
        else entry['Gateway'] = cidr;
        body[rng.chance(0.2) ? 'IPv6Data' : 'IPv4Data'] = [entry];
      } else {
        body['Interface'] = rng.chance(0.5) ? { Address: cidr === '' ? '198.18.0.2' : cidr } : { AddressIPv6: cidr === '' ? 'fd00:198:18::2' : cidr };
      }
      return post(`/${call}`, json(body));
    }
    case 'bad-mac': {
      const body = baseBody(rng, 'NetworkDriver.CreateEndpoint');
      body['Interface'] = { Address: '198.18.0.2/24', MacAddress: rng.pick(BAD_MACS) };
      return post('/NetworkDriver.CreateEndpoint', json(body));
    }
    case 'unicode': {
      const body = baseBody(rng, idCall);
      const u = rng.pick(UNICODE_STRINGS);
      body[idField(rng, body)] = rng.chance(0.5) ? u : `${rng.hex(60)}${u}`.slice(0, 64);
      if (rng.chance(0.3)) body[u] = u;
      return post(`/${idCall}`, json(body));
    }
    case 'bad-id': {
      const body = baseBody(rng, idCall);
      body[idField(rng, body)] = badId(rng);
      return post(`/${idCall}`, json(body));
    }
    case 'sandbox-key': {
      const body = baseBody(rng, 'NetworkDriver.Join');
      body['SandboxKey'] = rng.chance(0.9) ? rng.pick(BAD_SANDBOX_KEYS) : wrongValue(rng);
      return post('/NetworkDriver.Join', json(body));
    }
    case 'shell-chars': {
      const body = baseBody(rng, idCall);
      const s = rng.pick(SHELL_STRINGS);
      body[idField(rng, body)] = rng.chance(0.5) ? s : `${rng.hex(64 - Math.min(s.length, 64))}${s}`;
      if (idCall === 'NetworkDriver.Join' && rng.chance(0.5)) body['SandboxKey'] = `/var/run/docker/netns/${s}`;
      return post(`/${idCall}`, json(body));
    }
    case 'bad-option': {
      const body = baseBody(rng, 'NetworkDriver.CreateNetwork');
      // Only strings that are not valid VRF names (some shell strings, like "br-int", are).
      const s = rng.pick([...SHELL_STRINGS, ...UNICODE_STRINGS].filter((x) => !/^[A-Za-z0-9_.-]{1,64}$/.test(x)));
      const generic: Record<string, unknown> = rng.pick<Record<string, unknown>>([
        { vrf: s }, { vrf: '' }, { vrf: 'v'.repeat(65) }, { mtu: rng.pick(['0', '67', '65536', '-1', '1e3', '1500 ', s, '99999999999999999999']) },
        { 'com.docker.network.driver.mtu': '1400', mtu: '1500' }, { [s]: 'x' }, { vrf: { nested: true } }, { mtu: null },
      ]);
      body['Options'] = rng.chance(0.1) ? rng.pick(['x', 1, [], true]) : { 'com.docker.network.generic': rng.chance(0.1) ? s : generic };
      return post('/NetworkDriver.CreateNetwork', json(body));
    }
    case 'unknown-path': {
      const path = rng.pick([
        `/NetworkDriver.${rng.pick(SHELL_STRINGS).replace(/[^\x21-\x7e]/g, '_')}`, '/', '/Plugin.activate', '/NetworkDriver', '/NetworkDriver.CreateNetwork/x',
        '/../../etc/passwd', `/${rng.hex(64)}`, '/IpamDriver.RequestPools', '/VolumeDriver.Create', `/NetworkDriver.${'A'.repeat(5000)}`,
        '/NetworkDriver.CreateNetwork?x=1&x=2', '/%2e%2e/%2e%2e', '/NetworkDriver.Join%00',
      ]);
      if (rng.chance(0.2)) return { kind, method: rng.pick(['GET', 'PUT', 'DELETE'] as const), path: `/${rng.pick(CALLS.filter((c) => c !== 'NetworkDriver.Database'))}`, body: Buffer.alloc(0), contentType: undefined };
      const body = baseBody(rng, idCall);
      // A query string still reaches the route: such a body must be refused too.
      if (path.includes('?')) body['NetworkID'] = badId(rng);
      return post(path, json(body));
    }
    case 'truncated': {
      const call = rng.pick(CREATING);
      const full = json(baseBody(rng, call));
      return post(`/${call}`, full.subarray(0, 1 + rng.int(full.length - 1)));
    }
    case 'not-json': {
      const call = rng.pick(CALLS);
      const body = rng.pick([
        Buffer.from('{'), Buffer.from('}{'), Buffer.from('{"NetworkID":'), Buffer.from("{'a':1}"), Buffer.from('{"a":1}{"b":2}'),
        Buffer.from([0xff, 0xfe, 0x00, 0x7b]), Buffer.from('\u0000'), Buffer.from('NaN'), Buffer.from('{"a":1,}'), Buffer.from('[' .repeat(10_000)),
        Buffer.from('{"NetworkID":"' + rng.hex(64) + '"'), Buffer.from('<xml/>'),
      ]);
      // A wrong media type is refused before parsing, so it may carry anything.
      return post(`/${call}`, body, rng.pick([undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']));
    }
    case 'oversized': {
      const call = rng.pick(CREATING);
      const body = baseBody(rng, call);
      body['Padding'] = 'x'.repeat(OVERSIZED_BYTES);
      return post(`/${call}`, json(body));
    }
    case 'unknown-object': {
      // Well-formed, but naming a network or endpoint that does not exist; creating calls get a
      // bad id too (CreateNetwork would otherwise make the switch it names).
      const call = rng.pick(ID_CALLS);
      const body = baseBody(rng, call);
      if (CREATING.includes(call) && call !== 'NetworkDriver.CreateEndpoint' && call !== 'NetworkDriver.Join') body['NetworkID'] = badId(rng);
      return post(`/${call}`, json(body));
    }
  }
}

/** The figure for a run: answers by HTTP status. */
export function countByStatus(statuses: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of statuses) out[String(s)] = (out[String(s)] ?? 0) + 1;
  return out;
}

// Small parsers for the addresses in Docker's requests: IPv4/IPv6 addresses with a prefix
// length (Docker's "198.18.50.2/24"), MAC addresses, and membership of an address in a pool.
// Each returns a normalised value or undefined; the caller names the field in its error.

import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly family: 4 | 6;
  /** The address as written, normalised (IPv6 in canonical lowercase, compressed form). */
  readonly ip: string;
  readonly prefix: number;
}

/** "a.b.c.d/n" or "x::y/n"; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0 || text.indexOf('/', slash + 1) >= 0) return undefined;
  const ipText = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  if (isIPv4(ipText)) {
    if (prefix > 32) return undefined;
    return { family: 4, ip: normaliseIPv4(ipText), prefix };
  }
  if (isIPv6(ipText) && !ipText.includes('%')) {
    if (prefix > 128) return undefined;
    return { family: 6, ip: normaliseIPv6(ipText), prefix };
  }
  return undefined;
}

/** A bare address of either family, normalised; undefined when malformed. */
export function parseIp(text: string): { family: 4 | 6; ip: string } | undefined {
  if (isIPv4(text)) return { family: 4, ip: normaliseIPv4(text) };
  if (isIPv6(text) && !text.includes('%')) return { family: 6, ip: normaliseIPv6(text) };
  return undefined;
}

export function formatCidr(c: Cidr): string {
  return `${c.ip}/${c.prefix}`;
}

function normaliseIPv4(ip: string): string {
  return ip.split('.').map((o) => String(Number(o))).join('.');
}

/** The 16 bytes of an IPv6 address (input already checked by isIPv6). */
function ipv6Bytes(ip: string): number[] {
  let text = ip.toLowerCase();
  const tail: number[] = [];
  // An embedded IPv4 tail ("::ffff:1.2.3.4") becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 && v4[1] !== undefined) {
    const o = v4[1].split('.').map(Number);
    tail.push(((o[0] ?? 0) << 8) | (o[1] ?? 0), ((o[2] ?? 0) << 8) | (o[3] ?? 0));
    text = text.slice(0, text.length - v4[1].length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.split('::');
  const groups = (s: string | undefined): number[] => (s === undefined || s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const r = [...groups(rest), ...tail];
  const fill = rest === undefined ? [] : new Array<number>(8 - h.length - r.length).fill(0);
  const all = rest === undefined ? [...h, ...tail] : [...h, ...fill, ...r];
  const bytes: number[] = [];
  for (const g of all) bytes.push((g >> 8) & 0xff, g & 0xff);
  return bytes;
}

/** RFC 5952 form: lowercase, leading zeros dropped, the longest run of zero groups as "::". */
function normaliseIPv6(ip: string): string {
  const b = ipv6Bytes(ip);
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

export function addressBytes(family: 4 | 6, ip: string): number[] {
  return family === 4 ? ip.split('.').map(Number) : ipv6Bytes(ip);
}

/** True when `ip` (of the pool's family) lies inside the pool. */
export function poolContains(pool: Cidr, family: 4 | 6, ip: string): boolean {
  if (pool.family !== family) return false;
  const a = addressBytes(family, ip);
  const p = addressBytes(family, pool.ip);
  let bits = pool.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((a[i] ?? 0) & mask) !== ((p[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** The pool's network address ("198.18.50.7/24" -> "198.18.50.0/24"), so pools compare by value. */
export function networkOf(c: Cidr): Cidr {
  const b = addressBytes(c.family, c.ip);
  let bits = c.prefix;
  const out = b.map((byte) => {
    const mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    bits -= 8;
    return byte & mask;
  });
  if (c.family === 4) return { family: 4, ip: out.join('.'), prefix: c.prefix };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((out[i] ?? 0) << 8) | (out[i + 1] ?? 0)).toString(16));
  return { family: 6, ip: normaliseIPv6(groups.join(':')), prefix: c.prefix };
}

/** An address as an integer (IPv6 needs 128 bits, hence bigint). */
export function addressToBigInt(family: 4 | 6, ip: string): bigint {
  let n = 0n;
  for (const b of addressBytes(family, ip)) n = (n << 8n) | BigInt(b);
  return n;
}

/** The address of an integer, normalised as parseIp would. */
export function bigIntToAddress(family: 4 | 6, n: bigint): string {
  const count = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = count - 1; i >= 0; i--) bytes.push(Number((n >> BigInt(i * 8)) & 0xffn));
  if (family === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return normaliseIPv6(groups.join(':'));
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** A unicast, non-zero MAC "xx:xx:xx:xx:xx:xx" (lowercased); undefined otherwise. */
export function parseMac(text: string): string | undefined {
  if (!MAC_RE.test(text)) return undefined;
  const mac = text.toLowerCase();
  const first = parseInt(mac.slice(0, 2), 16);
  if ((first & 1) === 1 || mac === '00:00:00:00:00:00') return undefined;
  return mac;
}

/**
 * A locally administered unicast MAC for an endpoint Docker gave none: 0a:58 and the IPv4
 * address (the ovn-kubernetes convention; unique on a switch because IPAM made the address
 * unique), or 02 and the endpoint id's first five bytes when there is no IPv4 address.
 */
export function chooseMac(ipv4: string | undefined, endpointId: string): string {
  const bytes = ipv4 !== undefined ? [0x0a, 0x58, ...ipv4.split('.').map(Number)] : [0x02, ...[0, 2, 4, 6, 8].map((i) => parseInt(endpointId.slice(i, i + 2), 16))];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

// Checks of names, MACs and MTUs, done before any request so a bad argument fails with a clear
// message instead of an EINVAL from the kernel.

import { InvalidLinkArgumentError } from './errors';

/** IFNAMSIZ is 16 including the terminating NUL. */
export const MAX_LINK_NAME_BYTES = 15;
/** The IPv4 minimum, and the largest MTU a veth takes (ETH_MAX_MTU). */
export const MIN_MTU = 68;
export const MAX_MTU = 65535;

/**
 * Why `name` is not a valid interface name, or undefined when it is. Mirrors the kernel's
 * dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or whitespace.
 */
export function linkNameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'empty';
  if (bytes > MAX_LINK_NAME_BYTES) return `"${name}" is ${bytes} bytes, longer than ${MAX_LINK_NAME_BYTES}`;
  if (name === '.' || name === '..') return `"${name}" is reserved`;
  if (name.includes('\0')) return 'contains a NUL byte';
  if (/[/:\s]/.test(name)) return `"${name}" contains '/', ':' or whitespace`;
  return undefined;
}

export function checkLinkName(op: string, link: string, field: string, name: string): void {
  const problem = linkNameProblem(name);
  if (problem !== undefined) throw new InvalidLinkArgumentError(op, link, field, problem);
}

const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Parses a unicast MAC `xx:xx:xx:xx:xx:xx` into its 6 bytes; throws InvalidLinkArgumentError. */
export function parseMac(op: string, link: string, mac: string): Buffer {
  if (!MAC_PATTERN.test(mac)) {
    throw new InvalidLinkArgumentError(op, link, 'mac', `"${mac}" is not of the form xx:xx:xx:xx:xx:xx`);
  }
  const bytes = Buffer.from(mac.split(':').map((octet) => parseInt(octet, 16)));
  // The I/G bit of the first octet marks group addresses, which no interface may own.
  if ((bytes[0] ?? 0) & 1) throw new InvalidLinkArgumentError(op, link, 'mac', `"${mac}" is a multicast address`);
  if (bytes.every((b) => b === 0)) throw new InvalidLinkArgumentError(op, link, 'mac', `"${mac}" is all zeros`);
  return bytes;
}

/** Formats link-layer address bytes as lowercase `xx:xx:...`. */
export function formatMac(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function checkMtu(op: string, link: string, mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw new InvalidLinkArgumentError(op, link, 'mtu', `${String(mtu)} is not an integer in ${MIN_MTU}..${MAX_MTU}`);
  }
}

/** A namespace target: an open fd of /run/netns/NAME or /proc/PID/ns/net, or a pid living in it. */
export function checkNetnsTarget(op: string, link: string, target: { fd: number } | { pid: number }): void {
  if ('fd' in target) {
    if (!Number.isInteger(target.fd) || target.fd < 0) {
      throw new InvalidLinkArgumentError(op, link, 'netns', `fd ${String(target.fd)} is not a non-negative integer`);
    }
  } else if (!Number.isInteger(target.pid) || target.pid <= 0) {
    throw new InvalidLinkArgumentError(op, link, 'netns', `pid ${String(target.pid)} is not a positive integer`);
  }
}

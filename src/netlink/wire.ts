// rtnetlink link messages, encoded and decoded by hand: a `struct ifinfomsg` followed by
// attributes. The npm `netlink` package carries IFLA_LINKINFO as an opaque Buffer, so the veth
// attributes nested in it are built here. Layout follows the kernel's nla_put()/nla_nest_end():
// each attribute is padded to 4 bytes and a nest's length counts its children's padding, which is
// also what iproute2 sends (see the unit test's fixture).

import { endianness } from 'node:os';

// Netlink is host byte order.
const LITTLE = endianness() === 'LE';

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;

export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_DUMP = 0x300;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;

export const IFF_UP = 0x1;
/** IFLA_EXT_MASK bit asking the kernel to leave out the (large) statistics. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

export const IFINFOMSG_LENGTH = 16;
const ATTR_HEADER_LENGTH = 4;
const NLA_TYPE_MASK = 0x3fff; // drops NLA_F_NESTED and NLA_F_NET_BYTEORDER

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  if (LITTLE) b.writeUInt32LE(value >>> 0, 0);
  else b.writeUInt32BE(value >>> 0, 0);
  return b;
}

export function readU32(b: Buffer, offset: number): number {
  return LITTLE ? b.readUInt32LE(offset) : b.readUInt32BE(offset);
}

export function readS32(b: Buffer, offset: number): number {
  return LITTLE ? b.readInt32LE(offset) : b.readInt32BE(offset);
}

export function readU16(b: Buffer, offset: number): number {
  return LITTLE ? b.readUInt16LE(offset) : b.readUInt16BE(offset);
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  if (LITTLE) b.writeUInt16LE(value, 0);
  else b.writeUInt16BE(value, 0);
  return b;
}

/** `struct ifinfomsg`: family u8, pad u8, type u16, index s32, flags u32, change u32. */
export function ifinfomsg(opts: { index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LENGTH); // AF_UNSPEC, ARPHRD 0: the kernel fills them in
  const index = opts.index ?? 0;
  if (LITTLE) b.writeInt32LE(index, 4);
  else b.writeInt32BE(index, 4);
  u32(opts.flags ?? 0).copy(b, 8);
  u32(opts.change ?? 0).copy(b, 12);
  return b;
}

/** One attribute: length (header + payload, padding excluded), type, payload, padding to 4. */
export function attr(type: number, payload: Buffer | readonly Buffer[]): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.concat([...payload]);
  const length = ATTR_HEADER_LENGTH + body.length;
  if (length > 0xffff) throw new RangeError(`attribute ${type} is ${length} bytes, more than 65535`);
  const padding = (4 - (length % 4)) % 4;
  return Buffer.concat([u16(length), u16(type), body, Buffer.alloc(padding)]);
}

/** A NUL-terminated string attribute, as the kernel's nla_put_string() writes it. */
export function stringAttr(type: number, value: string): Buffer {
  return attr(type, Buffer.from(`${value}\0`, 'utf8'));
}

export interface VethRequest {
  readonly name: string;
  readonly peerName: string;
  readonly peerMac?: Buffer;
  readonly mtu: number;
}

/**
 * RTM_NEWLINK body for `ip link add NAME mtu M up type veth peer name PEER address MAC mtu M`,
 * attributes in iproute2's order. The peer's ifinfomsg asks for no flags: see createVethPair.
 */
export function vethRequest(req: VethRequest): Buffer {
  const peerAttrs: Buffer[] = [];
  if (req.peerMac !== undefined) peerAttrs.push(attr(IFLA_ADDRESS, req.peerMac));
  peerAttrs.push(attr(IFLA_MTU, u32(req.mtu)), stringAttr(IFLA_IFNAME, req.peerName));
  const peer = attr(VETH_INFO_PEER, [ifinfomsg(), ...peerAttrs]);
  // iproute2 sends the kind without its NUL; the kernel reads NLA_STRING either way.
  const linkinfo = attr(IFLA_LINKINFO, [attr(IFLA_INFO_KIND, Buffer.from('veth')), attr(IFLA_INFO_DATA, peer)]);
  return Buffer.concat([
    ifinfomsg({ flags: IFF_UP, change: IFF_UP }),
    attr(IFLA_MTU, u32(req.mtu)),
    stringAttr(IFLA_IFNAME, req.name),
    linkinfo,
  ]);
}

/** A request addressed to a link by name (ifi_index 0 makes the kernel look IFLA_IFNAME up). */
export function byNameRequest(name: string, opts: { flags?: number; change?: number; attrs?: readonly Buffer[] } = {}): Buffer {
  const header = ifinfomsg({ flags: opts.flags ?? 0, change: opts.change ?? 0 });
  return Buffer.concat([header, stringAttr(IFLA_IFNAME, name), ...(opts.attrs ?? [])]);
}

/** RTM_GETLINK dump body: every link, without statistics. */
export function dumpRequest(): Buffer {
  return Buffer.concat([ifinfomsg(), attr(IFLA_EXT_MASK, u32(RTEXT_FILTER_SKIP_STATS))]);
}

/** Splits an attribute stream into [type, payload] in order, repeats kept. Throws on a malformed stream. */
export function attrList(b: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  let offset = 0;
  while (offset + ATTR_HEADER_LENGTH <= b.length) {
    const length = readU16(b, offset);
    const type = readU16(b, offset + 2) & NLA_TYPE_MASK;
    if (length < ATTR_HEADER_LENGTH || offset + length > b.length) {
      throw new Error(`malformed attribute at offset ${offset}: length ${length} of ${b.length - offset} bytes left`);
    }
    out.push([type, b.subarray(offset + ATTR_HEADER_LENGTH, offset + length)]);
    offset += (length + 3) & ~3;
  }
  return out;
}

/** Splits an attribute stream; the first of repeated types wins. Throws on a malformed stream. */
export function parseAttrs(b: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const [type, payload] of attrList(b)) if (!out.has(type)) out.set(type, payload);
  return out;
}

/** A string attribute's text, up to its NUL if it has one. */
export function readString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul === -1 ? b.length : nul);
}

export interface ParsedLink {
  readonly index: number;
  readonly name: string;
  readonly address: Buffer | undefined;
  readonly mtu: number;
  readonly up: boolean;
  readonly kind: string | undefined;
}

/** Decodes an RTM_NEWLINK message body (ifinfomsg + attributes); throws when malformed. */
export function parseLink(b: Buffer): ParsedLink {
  if (b.length < IFINFOMSG_LENGTH) throw new Error(`link message of ${b.length} bytes, shorter than ifinfomsg`);
  const attrs = parseAttrs(b.subarray(IFINFOMSG_LENGTH));
  const name = attrs.get(IFLA_IFNAME);
  if (name === undefined) throw new Error('link message without IFLA_IFNAME');
  const mtu = attrs.get(IFLA_MTU);
  if (mtu === undefined || mtu.length < 4) throw new Error('link message without a 4-byte IFLA_MTU');
  return {
    index: readS32(b, 4),
    name: readString(name),
    address: attrs.get(IFLA_ADDRESS),
    mtu: readU32(mtu, 0),
    up: (readU32(b, 8) & IFF_UP) !== 0,
    kind: linkKind(attrs.get(IFLA_LINKINFO)),
  };
}

/** IFLA_INFO_KIND inside IFLA_LINKINFO ('veth', 'bridge', 'openvswitch', ...). */
export function linkKind(linkinfo: Buffer | undefined): string | undefined {
  if (linkinfo === undefined) return undefined;
  const kind = parseAttrs(linkinfo).get(IFLA_INFO_KIND);
  return kind === undefined ? undefined : readString(kind);
}

// Generic netlink messages of the kernel's ethtool family (Linux 5.6+, CONFIG_ETHTOOL_NETLINK),
// encoded and decoded by hand as wire.ts does for rtnetlink: a `struct genlmsghdr` (cmd u8,
// version u8, reserved u16) followed by attributes. The family's number is assigned at boot, so it
// is asked of the generic netlink controller (nlctrl) by name first. Nests carry NLA_F_NESTED, as
// the ethtool utility sends them and the family's strict validation wants.
// References: include/uapi/linux/ethtool_netlink.h, Documentation/networking/ethtool-netlink.rst.

import { attr, attrList, parseAttrs, readString, readU16, stringAttr, u32 } from './wire';

export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_GETFAMILY = 3;
const CTRL_VERSION = 1;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;

export const ETHTOOL_GENL_NAME = 'ethtool';
const ETHTOOL_GENL_VERSION = 1;
export const ETHTOOL_MSG_FEATURES_GET = 11;
export const ETHTOOL_MSG_FEATURES_SET = 12;

const ETHTOOL_A_HEADER_DEV_NAME = 2;
const ETHTOOL_A_HEADER_FLAGS = 3;
/** Header flag: bitsets in the reply as value/mask bit arrays rather than lists of named bits. */
export const ETHTOOL_FLAG_COMPACT_BITSETS = 1 << 0;
/** Header flag: no reply to a SET request beyond the ACK. */
export const ETHTOOL_FLAG_OMIT_REPLY = 1 << 1;

const ETHTOOL_A_FEATURES_HEADER = 1;
const ETHTOOL_A_FEATURES_WANTED = 3;
const ETHTOOL_A_FEATURES_ACTIVE = 4;

const ETHTOOL_A_BITSET_NOMASK = 1;
const ETHTOOL_A_BITSET_BITS = 3;
const ETHTOOL_A_BITSET_BITS_BIT = 1;
const ETHTOOL_A_BITSET_BIT_NAME = 2;
const ETHTOOL_A_BITSET_BIT_VALUE = 3;

const NLA_F_NESTED = 0x8000;
const GENL_HEADER_LENGTH = 4;

/**
 * What `ethtool -K NAME tx off` turns off: the features of the "tx" group
 * (tx-checksumming), named as the kernel's netdev_features_strings spells them.
 */
export const TX_CHECKSUM_FEATURES: readonly string[] = [
  'tx-checksum-ipv4', 'tx-checksum-ip-generic', 'tx-checksum-ipv6', 'tx-checksum-fcoe-crc', 'tx-checksum-sctp',
];

function nest(type: number, children: readonly Buffer[]): Buffer {
  return attr(type | NLA_F_NESTED, children);
}

/** `struct genlmsghdr` then the attributes. */
export function genlMessage(cmd: number, version: number, attrs: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...attrs]);
}

/** CTRL_CMD_GETFAMILY by name, to nlctrl (message type GENL_ID_CTRL). */
export function getFamilyRequest(name: string): Buffer {
  return genlMessage(CTRL_CMD_GETFAMILY, CTRL_VERSION, [stringAttr(CTRL_ATTR_FAMILY_NAME, name)]);
}

/** The attributes of a generic netlink message body, past its genlmsghdr. */
function genlAttrs(body: Buffer): Buffer {
  if (body.length < GENL_HEADER_LENGTH) throw new Error(`generic netlink message of ${body.length} bytes, shorter than genlmsghdr`);
  return body.subarray(GENL_HEADER_LENGTH);
}

/** CTRL_ATTR_FAMILY_ID of nlctrl's answer to CTRL_CMD_GETFAMILY; throws when it has none. */
export function parseFamilyId(body: Buffer): number {
  const id = parseAttrs(genlAttrs(body)).get(CTRL_ATTR_FAMILY_ID);
  if (id === undefined || id.length < 2) throw new Error('family answer without a 2-byte CTRL_ATTR_FAMILY_ID');
  return readU16(id, 0);
}

function requestHeader(type: number, device: string, flags: number): Buffer {
  return nest(type, [stringAttr(ETHTOOL_A_HEADER_DEV_NAME, device), attr(ETHTOOL_A_HEADER_FLAGS, u32(flags))]);
}

/** ETHTOOL_MSG_FEATURES_GET for a link by name (`ethtool -k NAME`). */
export function featuresGetRequest(device: string, flags: number): Buffer {
  return genlMessage(ETHTOOL_MSG_FEATURES_GET, ETHTOOL_GENL_VERSION, [requestHeader(ETHTOOL_A_FEATURES_HEADER, device, flags)]);
}

/**
 * ETHTOOL_MSG_FEATURES_SET turning the named features off (`ethtool -K NAME FEATURE off ...`):
 * a WANTED bitset listing each bit by name without ETHTOOL_A_BITSET_BIT_VALUE, which means 0;
 * bits not listed are left as they are.
 */
export function featuresOffRequest(device: string, features: readonly string[], flags: number): Buffer {
  const bits = features.map((name) => nest(ETHTOOL_A_BITSET_BITS_BIT, [stringAttr(ETHTOOL_A_BITSET_BIT_NAME, name)]));
  return genlMessage(ETHTOOL_MSG_FEATURES_SET, ETHTOOL_GENL_VERSION, [
    requestHeader(ETHTOOL_A_FEATURES_HEADER, device, flags),
    nest(ETHTOOL_A_FEATURES_WANTED, [nest(ETHTOOL_A_BITSET_BITS, bits)]),
  ]);
}

/**
 * A verbose (named-bit) bitset: the bits it lists, by name, with their value. A bitset without a
 * mask (ETHTOOL_A_BITSET_NOMASK) lists only the bits that are set; one with a mask lists the
 * masked bits and flags the set ones with ETHTOOL_A_BITSET_BIT_VALUE.
 */
export function parseBitset(b: Buffer): Map<string, boolean> {
  const attrs = parseAttrs(b);
  const bits = attrs.get(ETHTOOL_A_BITSET_BITS);
  if (bits === undefined) {
    // A compact bitset (value/mask arrays) has no names; requests here never ask for one.
    if (attrs.size > (attrs.has(ETHTOOL_A_BITSET_NOMASK) ? 1 : 0)) throw new Error('compact bitset where a list of named bits was asked for');
    return new Map();
  }
  const nomask = attrs.has(ETHTOOL_A_BITSET_NOMASK);
  const out = new Map<string, boolean>();
  for (const [type, bit] of attrList(bits)) {
    if (type !== ETHTOOL_A_BITSET_BITS_BIT) continue;
    const fields = parseAttrs(bit);
    const name = fields.get(ETHTOOL_A_BITSET_BIT_NAME);
    if (name === undefined) throw new Error('bitset bit without a name');
    out.set(readString(name), nomask || fields.has(ETHTOOL_A_BITSET_BIT_VALUE));
  }
  return out;
}

export interface FeaturesReply {
  /**
   * GET: the features wanted (on). SET: the requested features whose outcome differs from the
   * request, with the requested value: a feature the device keeps as it was.
   */
  readonly wanted: ReadonlyMap<string, boolean>;
  /** GET: the active features (on). SET: the features that changed, with their new value. */
  readonly active: ReadonlyMap<string, boolean>;
}

/** ETHTOOL_MSG_FEATURES_GET_REPLY or _SET_REPLY, asked without ETHTOOL_FLAG_COMPACT_BITSETS. */
export function parseFeaturesReply(body: Buffer): FeaturesReply {
  const attrs = parseAttrs(genlAttrs(body));
  const bitset = (type: number): Map<string, boolean> => {
    const b = attrs.get(type);
    return b === undefined ? new Map() : parseBitset(b);
  };
  return { wanted: bitset(ETHTOOL_A_FEATURES_WANTED), active: bitset(ETHTOOL_A_FEATURES_ACTIVE) };
}

// The ethtool generic netlink encoding, byte for byte, against what the ethtool utility sends
// (captured with strace), and the decoding against answers the kernel gave.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import {
  ETHTOOL_FLAG_COMPACT_BITSETS, featuresGetRequest, featuresOffRequest, getFamilyRequest, parseBitset, parseFamilyId,
  parseFeaturesReply, TX_CHECKSUM_FEATURES,
} from '../../src/netlink/ethtool-wire';

const skip = endianness() !== 'LE' ? 'references are little-endian' : false;

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

// `strace -e trace=sendto -s 4096 -xx ethtool -K trfA0 tx off` (ethtool 6.1, kernel 6.18), the
// nlmsghdr (16 bytes) removed. ethtool leaves stale bytes in attribute padding ("the ", "-",
// "p-g", "x-c"); they are zeros here, as the kernel ignores padding and nla_put() writes zeros.
const ETHTOOL_TX_OFF = hex(`
  0c 01 0000                               # genlmsghdr: ETHTOOL_MSG_FEATURES_SET (12), version 1
  1800 0180                                # ETHTOOL_A_FEATURES_HEADER | NLA_F_NESTED, len 24
    0a00 0200 ${ascii('trfA0')}00 0000     #   ETHTOOL_A_HEADER_DEV_NAME "trfA0\\0" + 2 bytes padding
    0800 0300 01000000                     #   ETHTOOL_A_HEADER_FLAGS = COMPACT_BITSETS (ethtool's choice)
  9c00 0380                                # ETHTOOL_A_FEATURES_WANTED | NESTED, len 156
    9800 0380                              #   ETHTOOL_A_BITSET_BITS | NESTED
      1c00 0180 1500 0200 ${ascii('tx-checksum-ipv4')}00 000000
      2000 0180 1b00 0200 ${ascii('tx-checksum-ip-generic')}00 00
      1c00 0180 1500 0200 ${ascii('tx-checksum-ipv6')}00 000000
      2000 0180 1900 0200 ${ascii('tx-checksum-fcoe-crc')}00 000000
      1c00 0180 1500 0200 ${ascii('tx-checksum-sctp')}00 000000
`);

test('turning tx checksumming off encodes as ethtool -K NAME tx off does', { skip }, () => {
  assert.equal(ETHTOOL_TX_OFF.length, 184);
  assert.deepEqual(featuresOffRequest('trfA0', TX_CHECKSUM_FEATURES, ETHTOOL_FLAG_COMPACT_BITSETS), ETHTOOL_TX_OFF);
  // The gateway asks for named bits in the reply (flags 0); only the flags word differs.
  const verbose = Buffer.from(ETHTOOL_TX_OFF);
  verbose.writeUInt32LE(0, 24);
  assert.deepEqual(featuresOffRequest('trfA0', TX_CHECKSUM_FEATURES, 0), verbose);
});

test('the family lookup and the features read encode as ethtool -k NAME sends them', { skip }, () => {
  // `strace ... ethtool -k trfA0`: first CTRL_CMD_GETFAMILY to nlctrl, then FEATURES_GET.
  assert.deepEqual(getFamilyRequest('ethtool'), hex(`03 01 0000  0c00 0200 ${ascii('ethtool')}00`));
  assert.deepEqual(featuresGetRequest('trfA0', ETHTOOL_FLAG_COMPACT_BITSETS),
    hex(`0b 01 0000  1800 0180  0a00 0200 ${ascii('trfA0')}00 0000  0800 0300 01000000`));
});

test('the family id is read from nlctrl\'s answer', { skip }, () => {
  // The start of a real CTRL_CMD_NEWFAMILY answer: FAMILY_NAME "ethtool", FAMILY_ID 21, VERSION 1.
  const answer = hex(`01 02 0000  0c00 0200 ${ascii('ethtool')}00  0600 0100 1500 0000  0800 0300 01000000`);
  assert.equal(parseFamilyId(answer), 21);
  assert.throws(() => parseFamilyId(hex(`01 02 0000  0c00 0200 ${ascii('ethtool')}00`)), /CTRL_ATTR_FAMILY_ID/);
  assert.throws(() => parseFamilyId(hex('0102')), /shorter than genlmsghdr/);
});

// FEATURES_SET replies the kernel (6.18) sent to the gateway's request (flags 0), nlmsghdr removed.
test('a set reply on a fresh veth: nothing kept, the checksum features and TSO turned off', { skip }, () => {
  const reply = hex(`
    0c010000 18000180 08000100 37000000 0a000200 74726643 31000000
    10000380 08000200 40000000 04000380
    24010480 08000200 40000000 18010380
      28000180 08000100 03000000 1b000200 ${ascii('tx-checksum-ip-generic')}00 00
      24000180 08000100 10000000 18000200 ${ascii('tx-tcp-segmentation')}00
      28000180 08000100 12000000 1c000200 ${ascii('tx-tcp-ecn-segmentation')}00
      30000180 08000100 13000000 21000200 ${ascii('tx-tcp-mangleid-segmentation')}00 000000
      28000180 08000100 14000000 19000200 ${ascii('tx-tcp6-segmentation')}00 000000
      24000180 08000100 21000000 18000200 ${ascii('tx-udp-segmentation')}00
      24000180 08000100 25000000 15000200 ${ascii('tx-checksum-sctp')}00 000000
  `);
  const parsed = parseFeaturesReply(reply);
  assert.deepEqual([...parsed.wanted], []);
  assert.deepEqual([...parsed.active], [
    ['tx-checksum-ip-generic', false], ['tx-tcp-segmentation', false], ['tx-tcp-ecn-segmentation', false],
    ['tx-tcp-mangleid-segmentation', false], ['tx-tcp6-segmentation', false], ['tx-udp-segmentation', false],
    ['tx-checksum-sctp', false],
  ]);
});

test('a set reply on loopback: the features it keeps on are listed as wanted off', { skip }, () => {
  const reply = hex(`
    0c010000 14000180 08000100 01000000 07000200 6c6f0000
    5c000380 08000200 40000000 50000380
      28000180 08000100 03000000 1b000200 ${ascii('tx-checksum-ip-generic')}00 00
      24000180 08000100 25000000 15000200 ${ascii('tx-checksum-sctp')}00 000000
    10000480 08000200 40000000 04000380
  `);
  const parsed = parseFeaturesReply(reply);
  assert.deepEqual([...parsed.wanted], [['tx-checksum-ip-generic', false], ['tx-checksum-sctp', false]]);
  assert.deepEqual([...parsed.active], []);
});

test('bitsets: without a mask every listed bit is on; with one, ETHTOOL_A_BITSET_BIT_VALUE says on', { skip }, () => {
  // Built by hand from ethtool_netlink.h: NOMASK (1, flag), BITS (3) > BIT (1) > INDEX (1), NAME (2), VALUE (3, flag).
  const nomask = hex(`0400 0100  1800 0380  1400 0180 0800 0100 03000000 0800 0200 ${ascii('abc')}00`);
  assert.deepEqual([...parseBitset(nomask)], [['abc', true]]);
  const masked = hex(`2000 0380  0c00 0180 0800 0200 ${ascii('on1')}00  1000 0180 0800 0200 ${ascii('on2')}00 0400 0300`);
  assert.deepEqual([...parseBitset(masked)], [['on1', false], ['on2', true]]);
  // A compact bitset (SIZE, VALUE, MASK) has no names: refused rather than read as empty.
  assert.throws(() => parseBitset(hex('0800 0200 40000000  0c00 0400 0100000000000000')), /compact bitset/);
  assert.throws(() => parseBitset(hex('0c00 0380  0800 0180 0400 0100')), /without a name/);
  assert.throws(() => parseBitset(hex('0c00 0380  0900 0180')), /malformed attribute/);
});

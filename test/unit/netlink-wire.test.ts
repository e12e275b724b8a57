// The rtnetlink encoding, byte for byte, against references built without the encoder: one
// derived by hand from the kernel's struct layout, one captured from iproute2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import {
  attr, byNameRequest, dumpRequest, linkKind, parseAttrs, parseLink, stringAttr, vethRequest,
} from '../../src/netlink/wire';

// Netlink is host byte order; the references below are written for little-endian hosts.
const skip = endianness() !== 'LE' ? 'references are little-endian' : false;

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

test('veth request without a MAC matches the kernel struct layout derived by hand', { skip }, () => {
  const expected = hex(`
    00 00 0000 00000000 01000000 01000000  # ifinfomsg: AF_UNSPEC, type 0, index 0, flags IFF_UP, change IFF_UP
    0800 0400 dc050000                     # IFLA_MTU (4) = 1500
    0a00 0300 6f76742d6100 0000            # IFLA_IFNAME (3) "ovt-a\\0", len 10, 2 bytes padding
    3800 1200                              # IFLA_LINKINFO (18), len 4+8+44 = 56
      0800 0100 76657468                   #   IFLA_INFO_KIND (1) "veth"
      2c00 0200                            #   IFLA_INFO_DATA (2), len 4+40 = 44
        2800 0100                          #     VETH_INFO_PEER (1), len 4+16+8+12 = 40
          00 00 0000 00000000 00000000 00000000  # peer ifinfomsg: no flags
          0800 0400 dc050000               #       IFLA_MTU = 1500
          0a00 0300 6f76742d6200 0000      #       IFLA_IFNAME "ovt-b\\0" + 2 bytes padding
  `);
  assert.equal(expected.length, 92);
  assert.deepEqual(vethRequest({ name: 'ovt-a', peerName: 'ovt-b', mtu: 1500 }), expected);
});

test('veth request with a MAC equals what iproute2 sends for the same link', { skip }, () => {
  // `strace -e trace=sendmsg -e write=3 ip link add ovtsx0 mtu 1442 up type veth peer name ovtsx1
  //  address 02:00:00:00:00:01 mtu 1442` (iproute2 6.1, kernel 6.18), nlmsghdr (16 bytes) removed.
  const iproute2 = hex(`
    00 00 00 00 00 00 00 00  01 00 00 00 01 00 00 00
    08 00 04 00 a2 05 00 00  0b 00 03 00 6f 76 74 73
    78 30 00 00 44 00 12 00  08 00 01 00 76 65 74 68
    38 00 02 00 34 00 01 00  00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 00  0a 00 01 00 02 00 00 00
    00 01 00 00 08 00 04 00  a2 05 00 00 0b 00 03 00
    6f 76 74 73 78 31 00 00
  `);
  const ours = vethRequest({
    name: 'ovtsx0', peerName: 'ovtsx1', peerMac: Buffer.from([2, 0, 0, 0, 0, 1]), mtu: 1442,
  });
  assert.deepEqual(ours, iproute2);
});

test('attributes are padded to 4 bytes and their length excludes the padding', { skip }, () => {
  assert.deepEqual(attr(7, Buffer.from([0xaa])), hex('0500 0700 aa 000000'));
  assert.deepEqual(attr(7, Buffer.alloc(0)), hex('0400 0700'));
  assert.deepEqual(stringAttr(3, 'abc'), hex('0800 0300 61626300'));
  assert.throws(() => attr(1, Buffer.alloc(0xffff)), RangeError);
});

test('requests by name carry ifindex 0 and IFLA_IFNAME, then their own attributes', { skip }, () => {
  assert.deepEqual(
    byNameRequest('ovt1', { flags: 1, change: 1, attrs: [attr(4, hex('dc050000'))] }),
    hex('0000 0000 00000000 01000000 01000000  0900 0300 6f76743100 000000  0800 0400 dc050000'),
  );
  // A dump asks for every link and leaves out statistics (IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS).
  assert.deepEqual(dumpRequest(), hex('00000000 00000000 00000000 00000000  0800 1d00 08000000'));
});

test('the kind is read back from IFLA_LINKINFO as the kernel reports it', { skip }, () => {
  // IFLA_LINKINFO of a veth enslaved to a Docker bridge, from a real RTM_GETLINK dump (kernel
  // 6.18): INFO_KIND "veth\0", then INFO_SLAVE_KIND "bridge\0" and its slave data (truncated nest).
  const kernel = hex('0900010076657468000000000b000400627269646765000008000500 00000000');
  assert.equal(linkKind(kernel), 'veth');
  assert.equal(linkKind(hex('0800 0100 76657468')), 'veth'); // iproute2's form, without NUL
  assert.equal(linkKind(hex('0b00 0400 6272696467650000')), undefined); // only a slave kind
  assert.equal(linkKind(undefined), undefined);
});

test('a link message decodes to index, name, MAC, MTU, up and kind', { skip }, () => {
  const message = hex(`
    00 00 0100 2a000000 43100100 00000000  # ifinfomsg: ARPHRD_ETHER, index 42, flags UP|BROADCAST|MULTICAST|LOWER_UP
    0a00 0300 6f76742d6100 0000            # IFLA_IFNAME "ovt-a"
    0800 0400 a2050000                     # IFLA_MTU 1442
    0a00 0100 020000000009 0000            # IFLA_ADDRESS 02:00:00:00:00:09
    1000 1200 0900 0100 7665746800 000000  # IFLA_LINKINFO { INFO_KIND "veth\\0" }
  `);
  const link = parseLink(message);
  assert.equal(link.index, 42);
  assert.equal(link.name, 'ovt-a');
  assert.equal(link.mtu, 1442);
  assert.equal(link.up, true);
  assert.equal(link.kind, 'veth');
  assert.deepEqual(link.address, hex('020000000009'));
});

test('malformed messages are rejected, not half-read', { skip }, () => {
  assert.throws(() => parseAttrs(hex('0800 0300 6162')), /malformed attribute/); // length past the end
  assert.throws(() => parseAttrs(hex('0200 0300')), /malformed attribute/); // length below the header
  assert.throws(() => parseLink(hex('0000 0000 01000000')), /shorter than ifinfomsg/);
  const noName = hex('0000 0000 01000000 00000000 00000000  0800 0400 dc050000');
  assert.throws(() => parseLink(noName), /IFLA_IFNAME/);
  const noMtu = hex('0000 0000 01000000 00000000 00000000  0800 0300 6c6f0000');
  assert.throws(() => parseLink(noMtu), /IFLA_MTU/);
});

test('repeated attributes: the first wins; NLA_F_NESTED is not part of the type', { skip }, () => {
  const attrs = parseAttrs(hex('0500 0100 aa000000  0500 0100 bb000000  0500 0280 cc000000'));
  assert.deepEqual(attrs.get(1), hex('aa'));
  assert.deepEqual(attrs.get(2), hex('cc'));
});

// What the driver depends on: an interface, so planners and their unit tests need no root.

import type { Logger } from '../util/logger';

export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  /** Lowercase `xx:xx:xx:xx:xx:xx`; '' for links without a link-layer address. */
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  /** IFLA_INFO_KIND: 'veth', 'bridge', 'openvswitch'...; undefined for plain devices (lo, eth0). */
  readonly kind: string | undefined;
}

/** A namespace given by an open fd (of /run/netns/NAME or /proc/PID/ns/net) or by a pid in it. */
export type NetnsTarget = { readonly fd: number } | { readonly pid: number };

export interface VethPairOptions {
  readonly name: string;
  readonly peerName: string;
  readonly peerMac?: string;
  readonly mtu: number;
  /** Set the peer up too (default true). False leaves it down, for whoever moves it to set up. */
  readonly peerUp?: boolean;
}

export interface Links {
  /** `ip link add NAME mtu M type veth peer name PEER address MAC mtu M`; NAME set up, and PEER unless peerUp is false. */
  createVethPair(opts: VethPairOptions): Promise<void>;
  /** `ip link del NAME`; a link already gone is success. */
  deleteLink(name: string): Promise<void>;
  /** `ip -d link show NAME`; undefined when there is no such link. */
  getLink(name: string): Promise<LinkInfo | undefined>;
  /** `ip -d link show`: every link in the driver's namespace. */
  listLinks(): Promise<LinkInfo[]>;
  /** `ip link set NAME netns NS`. */
  setLinkNetns(name: string, target: NetnsTarget): Promise<void>;
  /** `ip link set NAME up`. */
  setLinkUp(name: string): Promise<void>;
  /** `ip link set NAME mtu MTU`. */
  setLinkMtu(name: string, mtu: number): Promise<void>;
  /** `ip link set NAME address MAC`. */
  setLinkMac(name: string, mac: string): Promise<void>;
  /**
   * `ethtool -K NAME tx off`: turns off the link's TX checksum offload (tx-checksum-ipv4,
   * -ip-generic, -ipv6, -fcoe-crc, -sctp; the kernel drops what depends on them, TSO), through the
   * ethtool generic netlink family, or where the kernel has none (older than 5.6) through the
   * SIOCETHTOOL ioctl of our addon (see txChecksumMechanism). A feature the device keeps on fails
   * with errno 'EOPNOTSUPP'; a missing addon, where it is needed, with EthtoolAddonError. The
   * setting stays with the link when it moves to another namespace or is renamed.
   */
  setLinkTxChecksumOff(name: string): Promise<void>;
  /**
   * `ethtool -k NAME | grep tx-checksumming`: whether any TX checksum feature of the link is on,
   * by the same mechanism as setLinkTxChecksumOff.
   */
  getLinkTxChecksum(name: string): Promise<boolean>;
  /**
   * Which mechanism setLinkTxChecksumOff uses on this host: asks nlctrl for the ethtool family
   * once, and for 'ioctl' loads the addon (EthtoolAddonError when it cannot be). Cached.
   */
  txChecksumMechanism(): Promise<EthtoolMechanism>;
  /**
   * `ethtool -k NAME`: the names of the link's active features ('tx-checksum-ip-generic', ...).
   * Needs the ethtool netlink family: EthtoolUnsupportedError on a kernel without it.
   */
  getLinkFeatures(name: string): Promise<ReadonlySet<string>>;
  /** Closes the sockets; calls in flight and later calls fail with errno 'ESHUTDOWN'. */
  close(): void;
}

/** 'genetlink': the ethtool generic netlink family (5.6+); 'ioctl': SIOCETHTOOL through our addon. */
export type EthtoolMechanism = 'genetlink' | 'ioctl';

export interface OpenLinksOptions {
  readonly logger?: Logger;
  /**
   * How TX checksum offload is changed and read: 'auto' (default) uses the ethtool netlink family
   * when the kernel has it and the ioctl otherwise; 'ioctl' always uses the ioctl (tests use it to
   * exercise that path on a new kernel).
   */
  readonly ethtool?: 'auto' | 'ioctl';
  /** The SIOCETHTOOL addon's file (default: dist/native/ethtool.node, or beside the bundle). */
  readonly ethtoolAddonPath?: string;
  /** How long a request waits for the kernel's answer before failing with 'ETIMEDOUT' (default 5000). */
  readonly timeoutMs?: number;
}

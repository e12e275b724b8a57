// An in-memory netlink gateway for unit tests of the driver: veth pairs as the kernel keeps
// them (EEXIST on a taken name, deleting one end removes both), every call recorded, and a
// `gate` that holds a chosen call in flight until the test releases it.

import type { EthtoolMechanism, LinkInfo, Links, NetnsTarget, VethPairOptions } from '../../src/netlink/types';
import { NetlinkError } from '../../src/netlink/errors';

/** What a veth offers of TX checksumming (NETIF_F_HW_CSUM and NETIF_F_SCTP_CRC). */
const VETH_TX_CHECKSUM = ['tx-checksum-ip-generic', 'tx-checksum-sctp'];

export interface Gate {
  /** Resolves once the gated call has been made (and is now held). */
  readonly reached: Promise<void>;
  release(): void;
}

export class FakeLinks implements Links {
  readonly links = new Map<string, LinkInfo & { peer: string | undefined }>();
  /** The active features of each link, as the kernel keeps them (a new veth has TX checksumming on). */
  readonly features = new Map<string, Set<string>>();
  readonly calls: string[] = [];
  private nextIndex = 100;
  private gates = new Map<string, { hit: () => void; wait: Promise<void> }>();
  private failures = new Map<string, string>();

  /** Holds the next call `what` (e.g. "createVethPair ovnX", "getLink ovnX") until released. */
  gate(what: string): Gate {
    let hit!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((r) => (hit = r));
    const wait = new Promise<void>((r) => (release = r));
    this.gates.set(what, { hit, wait });
    return { reached, release };
  }

  /** Makes the next call `what` fail with errno. */
  fail(what: string, errno: string): void {
    this.failures.set(what, errno);
  }

  /** A link made outside the driver (by a test), as `ip link add` would. */
  add(name: string, info: Partial<LinkInfo> = {}, peer?: string): void {
    this.links.set(name, { index: this.nextIndex++, name, mac: '02:00:00:00:00:01', mtu: 1442, up: true, kind: 'veth', ...info, peer });
  }

  private async enter(what: string, op: string, link: string): Promise<void> {
    this.calls.push(what);
    const g = this.gates.get(what);
    if (g) {
      this.gates.delete(what);
      g.hit();
      await g.wait;
    }
    const errno = this.failures.get(what);
    if (errno !== undefined) {
      this.failures.delete(what);
      throw new NetlinkError(op, link, errno);
    }
  }

  async createVethPair(o: VethPairOptions): Promise<void> {
    await this.enter(`createVethPair ${o.name}`, 'create veth pair', o.name);
    if (this.links.has(o.name) || this.links.has(o.peerName)) throw new NetlinkError('create veth pair', o.name, 'EEXIST');
    this.links.set(o.name, { index: this.nextIndex++, name: o.name, mac: '02:00:00:00:00:02', mtu: o.mtu, up: true, kind: 'veth', peer: o.peerName });
    this.links.set(o.peerName, { index: this.nextIndex++, name: o.peerName, mac: o.peerMac ?? '02:00:00:00:00:03', mtu: o.mtu, up: o.peerUp ?? true, kind: 'veth', peer: o.name });
    for (const n of [o.name, o.peerName]) this.features.set(n, new Set(VETH_TX_CHECKSUM));
  }

  async setLinkTxChecksumOff(name: string): Promise<void> {
    await this.enter(`setLinkTxChecksumOff ${name}`, 'turn tx checksum off on', name);
    const f = this.features.get(name);
    if (!this.links.has(name) || !f) throw new NetlinkError('turn tx checksum off on', name, 'ENODEV');
    for (const x of VETH_TX_CHECKSUM) f.delete(x);
  }

  async getLinkTxChecksum(name: string): Promise<boolean> {
    const f = await this.getLinkFeatures(name);
    return VETH_TX_CHECKSUM.some((x) => f.has(x));
  }

  async txChecksumMechanism(): Promise<EthtoolMechanism> {
    return 'genetlink';
  }

  async getLinkFeatures(name: string): Promise<ReadonlySet<string>> {
    await this.enter(`getLinkFeatures ${name}`, 'get features of', name);
    const f = this.features.get(name);
    if (!this.links.has(name) || !f) throw new NetlinkError('get features of', name, 'ENODEV');
    return new Set(f);
  }

  async deleteLink(name: string): Promise<void> {
    await this.enter(`deleteLink ${name}`, 'delete link', name);
    const l = this.links.get(name);
    this.links.delete(name);
    this.features.delete(name);
    if (l?.peer !== undefined) {
      this.links.delete(l.peer);
      this.features.delete(l.peer);
    }
  }

  async getLink(name: string): Promise<LinkInfo | undefined> {
    await this.enter(`getLink ${name}`, 'get link', name);
    const l = this.links.get(name);
    return l === undefined ? undefined : { index: l.index, name: l.name, mac: l.mac, mtu: l.mtu, up: l.up, kind: l.kind };
  }

  async listLinks(): Promise<LinkInfo[]> {
    await this.enter('listLinks', 'list links', '');
    return [...this.links.values()].map((l) => ({ index: l.index, name: l.name, mac: l.mac, mtu: l.mtu, up: l.up, kind: l.kind }));
  }

  async setLinkNetns(name: string, _target: NetnsTarget): Promise<void> {
    await this.enter(`setLinkNetns ${name}`, 'move link', name);
    if (!this.links.delete(name)) throw new NetlinkError('move link', name, 'ENODEV');
  }

  async setLinkUp(name: string): Promise<void> {
    await this.set(name, 'setLinkUp', { up: true });
  }

  async setLinkMtu(name: string, mtu: number): Promise<void> {
    await this.set(name, 'setLinkMtu', { mtu });
  }

  async setLinkMac(name: string, mac: string): Promise<void> {
    await this.set(name, 'setLinkMac', { mac });
  }

  close(): void {}

  private async set(name: string, what: string, change: Partial<LinkInfo>): Promise<void> {
    await this.enter(`${what} ${name}`, what, name);
    const l = this.links.get(name);
    if (!l) throw new NetlinkError(what, name, 'ENODEV');
    this.links.set(name, { ...l, ...change });
  }
}

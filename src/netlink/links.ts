// Links over rtnetlink, through the npm `netlink` package's socket (which matches answers to
// requests by sequence number). Every request names its link by IFLA_IFNAME and, for namespaces,
// carries IFLA_NET_NS_FD / IFLA_NET_NS_PID: the Node process never switches namespace.

import { createNetlink, Protocol } from 'netlink';
import type { NetlinkMessage, NetlinkSocket } from 'netlink';
import { errnoName, EthtoolUnsupportedError, InvalidLinkArgumentError, NetlinkError } from './errors';
import { ethtoolAddonPath } from './addon-location';
import { EthtoolIoctl } from './ethtool-ioctl';
import {
  ETHTOOL_GENL_NAME, featuresGetRequest, featuresOffRequest, GENL_ID_CTRL, getFamilyRequest,
  parseFamilyId, parseFeaturesReply, TX_CHECKSUM_FEATURES,
} from './ethtool-wire';
import { Limiter } from './limiter';
import { errorMessage } from '../util/error-message';
import type { Logger } from '../util/logger';
import type { EthtoolMechanism, LinkInfo, Links, NetnsTarget, OpenLinksOptions, VethPairOptions } from './types';
import { checkLinkName, checkMtu, checkNetnsTarget, formatMac, parseMac } from './validate';
import {
  attr, byNameRequest, dumpRequest, IFF_UP, IFLA_ADDRESS, IFLA_EXT_MASK, IFLA_MTU, IFLA_NET_NS_FD,
  IFLA_NET_NS_PID, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLMSG_DONE, NLMSG_ERROR, parseLink,
  readS32, RTEXT_FILTER_SKIP_STATS, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK, u32, vethRequest,
} from './wire';

const DEFAULT_TIMEOUT_MS = 5000;
const MAX_IN_FLIGHT = 64;

/**
 * Opens an rtnetlink handle in the calling process's network namespace. `ethtoolFamily` is the
 * generic netlink family asked of nlctrl for TX checksum offload: always "ethtool" but in tests,
 * which name one no kernel has to play a kernel older than 5.6.
 */
export function openLinks(opts: OpenLinksOptions = {}, ethtoolFamily = ETHTOOL_GENL_NAME): Links {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`netlink timeoutMs must be a positive integer, got ${String(timeoutMs)}`);
  }
  const ethtool = opts.ethtool ?? 'auto';
  if (ethtool !== 'auto' && ethtool !== 'ioctl') {
    throw new RangeError(`netlink ethtool must be "auto" or "ioctl", got ${JSON.stringify(String(ethtool))}`);
  }
  const addonPath = opts.ethtoolAddonPath ?? ethtoolAddonPath();
  if (typeof addonPath !== 'string' || addonPath === '') {
    throw new RangeError(`netlink ethtoolAddonPath must be a non-empty path, got ${JSON.stringify(String(addonPath))}`);
  }
  return new RtnetlinkLinks(timeoutMs, opts.logger, ethtool, new EthtoolIoctl(addonPath), ethtoolFamily);
}

/** A request that failed for a reason other than a kernel errno; errno says which. */
class TransportFailure extends Error {
  constructor(readonly errno: string, cause: unknown) {
    super(errorMessage(cause));
  }
}

class RtnetlinkLinks implements Links {
  private readonly requests: NetlinkSocket;
  // Dumps get their own socket, opened on first use and run one at a time: the kernel answers
  // EBUSY to a second dump on a socket, and the package groups multipart answers per socket, so
  // an ACK arriving between two parts of a dump would cut it short.
  private dumps: NetlinkSocket | undefined;
  private dumpQueue: Promise<unknown> = Promise.resolve();
  // Generic netlink (ethtool) gets its own socket, opened on first use, and the ethtool family's
  // number, asked of nlctrl once and kept (a failed lookup is asked again next time).
  private genl: NetlinkSocket | undefined;
  private ethtoolFamily: Promise<number> | undefined;
  // Set once nlctrl has said the kernel has no ethtool family (a kernel does not gain one): from
  // then on TX checksum offload goes through the SIOCETHTOOL addon and nlctrl is not asked again.
  private ethtoolFamilyAbsent = false;
  private readonly limiter = new Limiter(MAX_IN_FLIGHT);
  private readonly aborts = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly logger: Logger | undefined,
    private readonly ethtoolMode: 'auto' | 'ioctl',
    private readonly ioctl: EthtoolIoctl,
    private readonly ethtoolFamilyName: string,
  ) {
    this.requests = this.openSocket();
  }

  async createVethPair(opts: VethPairOptions): Promise<void> {
    const op = 'create veth pair';
    checkLinkName(op, opts.name, 'name', opts.name);
    checkLinkName(op, opts.name, 'peerName', opts.peerName);
    if (opts.peerName === opts.name) throw new InvalidLinkArgumentError(op, opts.name, 'peerName', 'same as name');
    checkMtu(op, opts.name, opts.mtu);
    const peerMac = opts.peerMac === undefined ? undefined : parseMac(op, opts.name, opts.peerMac);
    const body = vethRequest({ name: opts.name, peerName: opts.peerName, mtu: opts.mtu, ...(peerMac ? { peerMac } : {}) });
    // One RTM_NEWLINK creates both ends, or neither (NLM_F_EXCL: an existing name is EEXIST).
    await this.call(op, opts.name, RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL);
    if (opts.peerUp === false) return;
    // The peer is set up by a second request: asking IFF_UP in the peer's own ifinfomsg fails
    // with ENOTCONN on current kernels (veth_open refuses while its peer is unregistered).
    try {
      await this.call(op, opts.name, RTM_SETLINK, byNameRequest(opts.peerName, { flags: IFF_UP, change: IFF_UP }), 0);
    } catch (err) {
      // Undo: deleting one end removes the pair.
      await this.deleteLink(opts.name).catch((undoErr: unknown) => {
        this.logger?.warn(`failed to delete veth "${opts.name}" after a failed set-up`, { error: String(undoErr) });
      });
      throw err;
    }
  }

  async deleteLink(name: string): Promise<void> {
    const op = 'delete link';
    checkLinkName(op, name, 'name', name);
    try {
      await this.call(op, name, RTM_DELLINK, byNameRequest(name), 0);
    } catch (err) {
      // Teardown is idempotent: a link already gone (its peer was deleted, or its namespace
      // died and took the pair with it) is the state we wanted.
      if (err instanceof NetlinkError && err.errno === 'ENODEV') return;
      throw err;
    }
  }

  async getLink(name: string): Promise<LinkInfo | undefined> {
    const op = 'get link';
    checkLinkName(op, name, 'name', name);
    const body = byNameRequest(name, { attrs: [attr(IFLA_EXT_MASK, u32(RTEXT_FILTER_SKIP_STATS))] });
    let replies: Buffer[];
    try {
      replies = await this.call(op, name, RTM_GETLINK, body, 0);
    } catch (err) {
      if (err instanceof NetlinkError && err.errno === 'ENODEV') return undefined;
      throw err;
    }
    const first = replies[0];
    if (first === undefined) throw new NetlinkError(op, name, 'EPROTO', new Error('no link in the answer'));
    return this.decode(op, name, first);
  }

  listLinks(): Promise<LinkInfo[]> {
    const op = 'list links';
    const run = async (): Promise<LinkInfo[]> => {
      this.checkOpen(op, '*');
      this.dumps ??= this.openSocket();
      const replies = await this.call(op, '*', RTM_GETLINK, dumpRequest(), NLM_F_DUMP, this.dumps);
      return replies.map((reply) => this.decode(op, '*', reply));
    };
    const result = this.dumpQueue.then(run, run);
    this.dumpQueue = result.catch(() => undefined);
    return result;
  }

  async setLinkNetns(name: string, target: NetnsTarget): Promise<void> {
    const op = 'set netns of';
    checkLinkName(op, name, 'name', name);
    checkNetnsTarget(op, name, target);
    const nsAttr = 'fd' in target ? attr(IFLA_NET_NS_FD, u32(target.fd)) : attr(IFLA_NET_NS_PID, u32(target.pid));
    await this.call(op, name, RTM_SETLINK, byNameRequest(name, { attrs: [nsAttr] }), 0);
  }

  async setLinkUp(name: string): Promise<void> {
    const op = 'set up link';
    checkLinkName(op, name, 'name', name);
    await this.call(op, name, RTM_SETLINK, byNameRequest(name, { flags: IFF_UP, change: IFF_UP }), 0);
  }

  async setLinkMtu(name: string, mtu: number): Promise<void> {
    const op = 'set mtu of';
    checkLinkName(op, name, 'name', name);
    checkMtu(op, name, mtu);
    await this.call(op, name, RTM_SETLINK, byNameRequest(name, { attrs: [attr(IFLA_MTU, u32(mtu))] }), 0);
  }

  async setLinkMac(name: string, mac: string): Promise<void> {
    const op = 'set mac of';
    checkLinkName(op, name, 'name', name);
    const bytes = parseMac(op, name, mac);
    await this.call(op, name, RTM_SETLINK, byNameRequest(name, { attrs: [attr(IFLA_ADDRESS, bytes)] }), 0);
  }

  async setLinkTxChecksumOff(name: string): Promise<void> {
    const op = 'turn off tx checksum offload of';
    if (await this.viaIoctl(op, name)) return this.ioctl.txChecksumOff(op, name);
    const family = await this.ethtoolFamilyId(op, name);
    // Not ETHTOOL_FLAG_OMIT_REPLY: the reply's WANTED bitset lists the requested features the
    // device did not take (fixed on), which is how a refusal shows; the kernel answers no error.
    const reply = decodeFirst(op, name, await this.call(op, name, family, featuresOffRequest(name, TX_CHECKSUM_FEATURES, 0), 0, this.genlSocket()), 'features', parseFeaturesReply);
    const kept = TX_CHECKSUM_FEATURES.filter((feature) => reply.wanted.has(feature));
    if (kept.length > 0) throw new NetlinkError(op, name, 'EOPNOTSUPP', new Error(`the device keeps ${kept.join(', ')} on`));
  }

  async getLinkTxChecksum(name: string): Promise<boolean> {
    const op = 'get tx checksumming of';
    if (await this.viaIoctl(op, name)) return this.ioctl.txChecksum(op, name);
    const active = await this.features(op, name);
    return TX_CHECKSUM_FEATURES.some((feature) => active.has(feature));
  }

  async txChecksumMechanism(): Promise<EthtoolMechanism> {
    const op = 'choose the tx checksum offload mechanism for';
    const mechanism = await this.mechanism(op, '*');
    if (mechanism === 'ioctl') this.ioctl.ensureLoaded(op, '*');
    return mechanism;
  }

  getLinkFeatures(name: string): Promise<ReadonlySet<string>> {
    const op = 'get features of';
    checkLinkName(op, name, 'name', name);
    return this.features(op, name);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const abort of [...this.aborts]) abort();
    this.requests.close();
    this.dumps?.close();
    this.genl?.close();
  }

  private openSocket(protocol = Protocol.ROUTE): NetlinkSocket {
    const socket = createNetlink(protocol);
    // Without a listener an 'error' event (ENOBUFS...) would throw and end the daemon; the
    // request it concerns still fails, by its timeout.
    const what = protocol === Protocol.ROUTE ? 'rtnetlink' : 'generic netlink';
    socket.on('error', (err) => this.logger?.warn(`${what} socket error`, { error: err.message }));
    return socket;
  }

  private genlSocket(): NetlinkSocket {
    if (this.closed) return this.requests; // the request fails with ESHUTDOWN before it is sent
    this.genl ??= this.openSocket(Protocol.GENERIC);
    return this.genl;
  }

  /** The active features of a link (ETHTOOL_MSG_FEATURES_GET), through the ethtool family. */
  private async features(op: string, name: string): Promise<ReadonlySet<string>> {
    const family = await this.ethtoolFamilyId(op, name);
    const reply = decodeFirst(op, name, await this.call(op, name, family, featuresGetRequest(name, 0), 0, this.genlSocket()), 'features', parseFeaturesReply);
    return new Set([...reply.active].filter(([, on]) => on).map(([feature]) => feature));
  }

  /** How TX checksum offload is reached here: the ethtool family when the kernel has it, else the ioctl. */
  private async mechanism(op: string, link: string): Promise<EthtoolMechanism> {
    if (this.ethtoolMode === 'ioctl') return 'ioctl';
    try {
      await this.ethtoolFamilyId(op, link);
      return 'genetlink';
    } catch (err) {
      if (err instanceof EthtoolUnsupportedError) return 'ioctl';
      throw err;
    }
  }

  /** Checks the name; true when TX checksum offload goes through the SIOCETHTOOL addon here. */
  private async viaIoctl(op: string, name: string): Promise<boolean> {
    checkLinkName(op, name, 'name', name);
    if (await this.mechanism(op, name) !== 'ioctl') return false;
    this.checkOpen(op, name);
    return true;
  }

  private checkOpen(op: string, link: string): void {
    if (this.closed) throw new NetlinkError(op, link, 'ESHUTDOWN');
  }

  /** The ethtool family's number (`genl ctrl get name ethtool`); EthtoolUnsupportedError without one. */
  private ethtoolFamilyId(op: string, link: string): Promise<number> {
    if (this.ethtoolFamilyAbsent) return Promise.reject(new EthtoolUnsupportedError(op, link));
    const lookup = async (): Promise<number> => {
      let replies: Buffer[];
      try {
        replies = await this.call(op, link, GENL_ID_CTRL, getFamilyRequest(this.ethtoolFamilyName), 0, this.genlSocket());
      } catch (err) {
        // nlctrl answers ENOENT for a family the kernel does not have.
        if (err instanceof NetlinkError && err.errno === 'ENOENT') {
          this.logger?.info('this kernel has no ethtool netlink family: TX checksum offload goes through the SIOCETHTOOL ioctl addon');
          this.ethtoolFamilyAbsent = true;
          throw new EthtoolUnsupportedError(op, link);
        }
        throw err;
      }
      return decodeFirst(op, link, replies, 'family', parseFamilyId);
    };
    const family = this.ethtoolFamily ?? lookup();
    this.ethtoolFamily = family;
    family.catch(() => {
      if (this.ethtoolFamily === family) this.ethtoolFamily = undefined;
    });
    return family;
  }

  private decode(op: string, link: string, body: Buffer): LinkInfo {
    try {
      const parsed = parseLink(body);
      return {
        index: parsed.index,
        name: parsed.name,
        mac: parsed.address === undefined ? '' : formatMac(parsed.address),
        mtu: parsed.mtu,
        up: parsed.up,
        kind: parsed.kind,
      };
    } catch (err) {
      throw new NetlinkError(op, link, 'EPROTO', err);
    }
  }

  /**
   * Sends one request and waits for its answer: the bodies of the answer's messages, or a
   * NetlinkError carrying the kernel's errno, ETIMEDOUT without an answer, ESHUTDOWN once closed.
   */
  private async call(op: string, link: string, type: number, body: Buffer, flags: number, socket = this.requests): Promise<Buffer[]> {
    let replies: NetlinkMessage[];
    try {
      replies = await this.limiter.run(() => this.send(socket, type, body, flags));
    } catch (err) {
      const errno = err instanceof TransportFailure ? err.errno : 'EIO';
      this.logger?.debug(`netlink ${op} "${link}" failed`, { errno, error: String(err) });
      throw new NetlinkError(op, link, errno, err);
    }
    const bodies: Buffer[] = [];
    for (const reply of replies) {
      if (reply.type === NLMSG_DONE) continue;
      if (reply.type !== NLMSG_ERROR) {
        bodies.push(reply.data);
        continue;
      }
      if (reply.data.length < 4) throw new NetlinkError(op, link, 'EPROTO', new Error('short NLMSG_ERROR'));
      const errno = readS32(reply.data, 0);
      if (errno !== 0) {
        const name = errnoName(-errno);
        this.logger?.debug(`netlink ${op} "${link}" refused`, { errno: name });
        throw new NetlinkError(op, link, name);
      }
    }
    return bodies;
  }

  private send(socket: NetlinkSocket, type: number, body: Buffer, flags: number): Promise<NetlinkMessage[]> {
    if (this.closed) return Promise.reject(new TransportFailure('ESHUTDOWN', 'the netlink handle is closed'));
    return new Promise((resolve, reject) => {
      const abort = (): void => reject(new TransportFailure('ESHUTDOWN', 'the netlink handle was closed'));
      this.aborts.add(abort);
      // checkError false: the ERROR message comes back to `call`, which reads its errno number
      // (the package would turn it into a plain Error with the errno only in its text).
      socket.request(type, body, { flags, timeout: this.timeoutMs, checkError: false }).then(
        ([replies]) => resolve(replies),
        (err: unknown) => reject(toTransportFailure(err)),
      ).finally(() => this.aborts.delete(abort));
    });
  }
}

/** The first message of an answer, decoded; EPROTO when there is none or it is malformed. */
function decodeFirst<T>(op: string, link: string, replies: readonly Buffer[], what: string, parse: (body: Buffer) => T): T {
  try {
    const first = replies[0];
    if (first === undefined) throw new Error(`no ${what} in the answer`);
    return parse(first);
  } catch (err) {
    throw new NetlinkError(op, link, 'EPROTO', err);
  }
}

function toTransportFailure(err: unknown): TransportFailure {
  if (err instanceof Error && err.message === 'Timeout has been reached') return new TransportFailure('ETIMEDOUT', err);
  // A failed sendmsg() comes back as the package's ErrnoException, with the errno name in `code`.
  if (err instanceof Error && 'code' in err) {
    const code: unknown = err.code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return new TransportFailure(code, err);
  }
  return new TransportFailure('EIO', err);
}

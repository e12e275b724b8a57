// Typed errors of the netlink gateway. `code` is stable: callers branch on `code` and `errno`,
// never on messages.

import { constants as osConstants } from 'node:os';

/** Names of the errno values rtnetlink answers with most, so a reply reads `EEXIST`, not `-17`. */
const KNOWN_ERRNO: ReadonlyMap<number, string> = new Map([
  [1, 'EPERM'], [2, 'ENOENT'], [3, 'ESRCH'], [9, 'EBADF'], [12, 'ENOMEM'], [13, 'EACCES'],
  [16, 'EBUSY'], [17, 'EEXIST'], [19, 'ENODEV'], [22, 'EINVAL'], [34, 'ERANGE'],
  [95, 'EOPNOTSUPP'], [97, 'EAFNOSUPPORT'], [105, 'ENOBUFS'], [107, 'ENOTCONN'], [110, 'ETIMEDOUT'],
]);

/** Maps a positive errno number to its name; unknown numbers become `ERRNO_<n>`. */
export function errnoName(errno: number): string {
  const known = KNOWN_ERRNO.get(errno);
  if (known !== undefined) return known;
  for (const [name, value] of Object.entries(osConstants.errno)) {
    if (value === errno) return name;
  }
  return `ERRNO_${errno}`;
}

/** What a person can do about the common failures; empty when there is nothing specific. */
function remedy(errno: string, op: string): string {
  switch (errno) {
    case 'EEXIST':
      return op === 'create veth pair'
        ? '; a link of that name or of the peer\'s name already exists: remove it with `ip link del NAME` if nothing uses it'
        : '; a link of that name already exists';
    case 'EPERM':
    case 'EACCES':
      return '; the driver needs CAP_NET_ADMIN: run it as root';
    case 'ETIMEDOUT':
      return '; the kernel did not answer in time: retry, and check the host for load';
    case 'ENODEV':
      return op === 'set netns of' ? '; the link is gone or the target namespace no longer exists' : '';
    default:
      return '';
  }
}

/** A request the kernel refused, or that got no answer. */
export class NetlinkError extends Error {
  readonly code = 'NETLINK_ERROR' as const;
  /** errno name: 'EEXIST', 'ENODEV', 'EPERM', 'ETIMEDOUT' (no reply), 'ESHUTDOWN' (handle closed)... */
  readonly errno: string;
  /** What was being done, as a verb phrase: 'create veth pair', 'delete link'... */
  readonly op: string;
  readonly link: string;
  readonly cause?: unknown;

  constructor(op: string, link: string, errno: string, cause?: unknown) {
    super(`failed to ${op} "${link}": ${errno}${describeCause(cause)}${remedy(errno, op)}`);
    this.name = 'NetlinkError';
    this.op = op;
    this.link = link;
    this.errno = errno;
    if (cause !== undefined) this.cause = cause;
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error && !/^Request rejected/.test(cause.message)) return ` (${cause.message})`;
  return '';
}

/** An argument rejected before any request was sent: the kernel never saw it. */
export class InvalidLinkArgumentError extends Error {
  readonly code = 'NETLINK_INVALID_ARGUMENT' as const;
  readonly op: string;
  readonly link: string;
  /** Which argument: 'name', 'peerName', 'mac', 'mtu', 'netns'. */
  readonly field: string;

  constructor(op: string, link: string, field: string, reason: string) {
    super(`failed to ${op} "${link}": invalid ${field}: ${reason}`);
    this.name = 'InvalidLinkArgumentError';
    this.op = op;
    this.link = link;
    this.field = field;
  }
}

/**
 * The kernel has no ethtool generic netlink family (Linux older than 5.6, or built without
 * CONFIG_ETHTOOL_NETLINK), so a link's full feature list cannot be read. Turning TX checksum
 * offload off and reading it do not need the family: the gateway uses the SIOCETHTOOL ioctl then.
 */
export class EthtoolUnsupportedError extends Error {
  readonly code = 'NETLINK_ETHTOOL_UNSUPPORTED' as const;
  readonly op: string;
  readonly link: string;

  constructor(op: string, link: string) {
    super(`failed to ${op} "${link}": this kernel has no ethtool netlink family (it needs Linux 5.6 or newer built with CONFIG_ETHTOOL_NETLINK); on this kernel only TX checksumming can be read, through the SIOCETHTOOL ioctl (getLinkTxChecksum)`);
    this.name = 'EthtoolUnsupportedError';
    this.op = op;
    this.link = link;
  }
}

/**
 * The SIOCETHTOOL addon (native/ethtool.c), which the gateway uses where the kernel has no
 * ethtool netlink family, could not be loaded: the file is missing, built for another platform,
 * or not ours. Nothing was sent to the kernel.
 */
export class EthtoolAddonError extends Error {
  readonly code = 'NETLINK_ETHTOOL_ADDON_UNAVAILABLE' as const;
  readonly op: string;
  readonly link: string;
  /** The file that was loaded. */
  readonly path: string;
  readonly cause: unknown;

  constructor(op: string, link: string, path: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] ?? '' : String(cause);
    super(`failed to ${op} "${link}": the SIOCETHTOOL addon, used where the kernel has no ethtool netlink family, could not be loaded from ${path} (${why}); it ships as ethtool.node beside netlink.node in the package (\`make build\` puts it in dist/native/): reinstall ovn-driver, or run Linux 5.6 or newer`);
    this.name = 'EthtoolAddonError';
    this.op = op;
    this.link = link;
    this.path = path;
    this.cause = cause;
  }
}

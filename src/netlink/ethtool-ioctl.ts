// TX checksum offload through the SIOCETHTOOL ioctl, for kernels without the ethtool generic
// netlink family (before 5.6, such as el7's 3.10). npm `netlink`'s addon makes no ioctls, so the
// call goes through our own small N-API addon (native/ethtool.c), loaded on first use only: a
// host whose kernel has the family never loads it.

import { EthtoolAddonError, errnoName, NetlinkError } from './errors';

/** What native/ethtool.c exports; both run on a libuv worker and reject with `errno` set. */
interface EthtoolAddon {
  /** ETHTOOL_STXCSUM 0: the kernel turns every tx-checksum-* feature off (and TSO with them). */
  txChecksumOff(name: string): Promise<void>;
  /** ETHTOOL_GTXCSUM: whether any tx-checksum-* feature is on. */
  txChecksum(name: string): Promise<boolean>;
}

/** Loads the addon once; a failed load is tried again on the next call (the file may appear). */
export class EthtoolIoctl {
  private addon: EthtoolAddon | undefined;

  constructor(private readonly addonPath: string, private readonly load: (file: string) => unknown = require) {}

  /**
   * The addon, loaded now if it was not yet; EthtoolAddonError when it is missing or is not
   * ours. `op` and `link` name the request that needed it.
   */
  ensureLoaded(op: string, link: string): EthtoolAddon {
    if (this.addon !== undefined) return this.addon;
    let loaded: unknown;
    try {
      loaded = this.load(this.addonPath);
    } catch (err) {
      throw new EthtoolAddonError(op, link, this.addonPath, err);
    }
    this.addon = checkAddon(loaded, op, link, this.addonPath);
    return this.addon;
  }

  /** `ethtool -K NAME tx off`; a device that keeps part of it on fails with EOPNOTSUPP. */
  async txChecksumOff(op: string, name: string): Promise<void> {
    const addon = this.ensureLoaded(op, name);
    await call(op, name, () => addon.txChecksumOff(name));
    // The kernel changes only what the device lets it (hw_features) and says nothing of the
    // rest, so read back: "tx-checksumming: on" now means a feature fixed on.
    if (await call(op, name, () => addon.txChecksum(name))) {
      throw new NetlinkError(op, name, 'EOPNOTSUPP', new Error('the device keeps part of its TX checksumming on'));
    }
  }

  /** Whether the link checksums anything in hardware (`ethtool -k NAME`: tx-checksumming). */
  txChecksum(op: string, name: string): Promise<boolean> {
    const addon = this.ensureLoaded(op, name);
    return call(op, name, () => addon.txChecksum(name));
  }
}

function checkAddon(loaded: unknown, op: string, link: string, file: string): EthtoolAddon {
  if (typeof loaded !== 'object' || loaded === null) throw new EthtoolAddonError(op, link, file, new Error('it exports no object'));
  const off: unknown = Reflect.get(loaded, 'txChecksumOff');
  const get: unknown = Reflect.get(loaded, 'txChecksum');
  if (typeof off !== 'function' || typeof get !== 'function') {
    throw new EthtoolAddonError(op, link, file, new Error('it does not export txChecksumOff and txChecksum: not native/ethtool.c'));
  }
  return {
    txChecksumOff: (name) => Promise.resolve(off.call(loaded, name)).then(() => undefined),
    txChecksum: (name) => Promise.resolve(get.call(loaded, name)).then((on: unknown) => {
      if (typeof on !== 'boolean') throw new Error(`ETHTOOL_GTXCSUM answered ${typeof on}, not a boolean`);
      return on;
    }),
  };
}

/** Runs an addon call; its rejection becomes a NetlinkError carrying the errno's name. */
async function call<T>(op: string, link: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new NetlinkError(op, link, ioctlErrno(err), err);
  }
}

/**
 * The errno name of an addon failure: its positive `errno` number, named as rtnetlink answers
 * are; 'EIO' for anything else (an addon that failed without an errno).
 */
export function ioctlErrno(err: unknown): string {
  const errno: unknown = typeof err === 'object' && err !== null ? Reflect.get(err, 'errno') : undefined;
  return typeof errno === 'number' && Number.isInteger(errno) && errno > 0 ? errnoName(errno) : 'EIO';
}

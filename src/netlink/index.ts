// The netlink gateway: the only place that talks to the kernel's rtnetlink (habit 6).

export { openLinks } from './links';
export { NetlinkError, InvalidLinkArgumentError, EthtoolUnsupportedError, EthtoolAddonError, errnoName } from './errors';
export { linkNameProblem, MAX_LINK_NAME_BYTES, MIN_MTU, MAX_MTU } from './validate';
export type { EthtoolMechanism, LinkInfo, Links, NetnsTarget, VethPairOptions, OpenLinksOptions } from './types';

// The names and external_ids keys other tools and the e2e tests rely on (the agreed naming):
// a Logical_Switch per (VRF, subnets), shared by every host's Docker network of that VRF and
// subnets (sharedSwitchName; the previous release named a switch by its network id, and those
// keep working), a Logical_Switch_Port per endpoint named by the endpoint id, veth ends `ovn`/`ovc` + the endpoint id's first 12 hex
// digits (15 characters, the kernel's limit), and the OVS Port/Interface named like the host end.

import { addressBytes, Cidr, formatCidr, networkOf } from './addr';

export const OWNER_KEY = 'ovn-driver:owner';
export const OWNER = 'ovn-driver';
export const CHASSIS_KEY = 'ovn-driver:chassis';

export const NETWORK_ID_KEY = 'docker:network-id';
export const ENDPOINT_ID_KEY = 'docker:endpoint-id';
export const SUBNETS_KEY = 'docker:subnets';
export const GATEWAYS_KEY = 'docker:gateways';
export const OPTIONS_KEY = 'docker:options';
export const VRF_KEY = 'docker:vrf';
export const MTU_KEY = 'docker:mtu';

/** On a shared switch, one key per host: REF_KEY_PREFIX + chassis name = that host's Docker network id. */
export const REF_KEY_PREFIX = 'ovn-driver:network-id:';
/** On a port: the switch it is on and its addresses, for the duplicate-address wait on a shared switch. */
export const SWITCH_KEY = 'ovn-driver:switch';
/** On a switch: "ovn" when its addresses come from the driver's IPAM (--ipam-driver ovn), which keeps them unique. */
export const IPAM_KEY = 'ovn-driver:ipam';
export const IPV4_KEY = 'ovn-driver:ipv4';
export const IPV6_KEY = 'ovn-driver:ipv6';

/** On a switch: the Logical_Router of its VRF that routes it (absent: --internal, or no gateway). */
export const ROUTER_KEY = 'ovn-driver:router';
/**
 * On a switch: "true" for Docker's --internal networks, "false" otherwise. Switches made before
 * routing lack it: the daemon routes those at start-up (upgrade.ts), asking Docker which are internal.
 */
export const INTERNAL_KEY = 'docker:internal';

/** The VRF of a network created without `-o vrf=`. */
export const DEFAULT_VRF = 'default';

export function refKey(chassis: string): string {
  return `${REF_KEY_PREFIX}${chassis}`;
}

/**
 * The one identity rule of a network across hosts: its VRF and its subnets (network addresses,
 * sorted) name its Logical_Switch, e.g. "default/198.18.10.0/24". A VRF has no "/", so the first
 * one ends it. Every host, and the IPAM pools keyed by (VRF, subnet), derive it the same way.
 */
export function sharedSwitchName(vrf: string, subnets: readonly Cidr[]): string {
  const keys = [...new Set(subnets.map((s) => formatCidr(networkOf(s))))].sort();
  return `${vrf}/${keys.join(',')}`;
}

/** A VRF's Logical_Router, shared by every host: "vrf/" + the VRF (api.ts allows no "/" in it). */
export function routerName(vrf: string): string {
  return `vrf/${vrf}`;
}

/** The router port that answers a network's gateway addresses: "gw/" + the switch's name. */
export function gatewayPortName(switchName: string): string {
  return `gw/${switchName}`;
}

/** The switch's port of type router facing it: "rtr/" + the switch's name. */
export function switchRouterPortName(switchName: string): string {
  return `rtr/${switchName}`;
}

/**
 * The gateway port's MAC, the same on every host: 0a:58 and the IPv4 gateway's four bytes (the
 * ovn-kubernetes convention), or the IPv6 gateway's last four on an IPv6-only network.
 */
export function gatewayMac(gateways: readonly Cidr[]): string {
  const v4 = gateways.find((g) => g.family === 4);
  const bytes = v4 ? addressBytes(4, v4.ip) : addressBytes(6, gateways[0]?.ip ?? '::').slice(12);
  return [0x0a, 0x58, ...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export const IFACE_ID_KEY = 'iface-id';
export const ATTACHED_MAC_KEY = 'attached-mac';
export const IFACE_STATUS_KEY = 'iface-status';
export const OVN_INSTALLED_KEY = 'ovn-installed';

/** The owner mark, as written on every row the driver creates. */
export const OWNER_MARK: Readonly<Record<string, string>> = Object.freeze({ [OWNER_KEY]: OWNER });

/** True when these external_ids carry the owner mark (typed rows' maps and raw rows' alike). */
export function hasOwnerMark(externalIds: unknown): boolean {
  return externalIds instanceof Map && externalIds.get(OWNER_KEY) === OWNER;
}

/** Host ends of the driver's veths (and the OVS ports named like them). */
export const HOST_LINK_RE = /^ovn[0-9a-f]{12}$/;

export function hostLinkName(endpointId: string): string {
  return `ovn${endpointId.slice(0, 12)}`;
}

export function containerLinkName(endpointId: string): string {
  return `ovc${endpointId.slice(0, 12)}`;
}

/** A valid OVSDB uuid-name (letters, digits, "_"; not starting with a digit). */
export function rowName(prefix: string, id: string): string {
  return `${prefix}_${id.slice(0, 16)}`;
}

// ---- the way out (plan-external.ts, plan-ports.ts) ---------------------------------------------

/** The cluster's external network: its Logical_Switch, localnet port and physnet (ovn-bridge-mappings). */
export const EXTERNAL_SWITCH = 'ovn-driver-external';
export const EXTERNAL_LOCALNET_PORT = 'ovn-driver-external-localnet';
export const EXTERNAL_PHYSNET = 'ovn-driver-external';
/** The HA_Chassis_Group of the gateway hosts, which every VRF's external port is bound by. */
export const GATEWAY_GROUP = 'ovn-driver-gateways';
/** On the external switch: the cluster-wide values, kept once (config.ts ExternalNetworkConfig). */
export const EXTERNAL_CIDR_KEY = 'ovn-driver:external-cidr';
export const EXTERNAL_GATEWAY_KEY = 'ovn-driver:external-gateway';
export const EXTERNAL_POOL_KEY = 'ovn-driver:external-pool';
/** On an endpoint's logical port: what it publishes, for status ("tcp 198.18.250.10:8080->80,..."). */
export const PUBLISHED_KEY = 'ovn-driver:published';

/** A VRF router's port on the external network (a distributed gateway port): "ext/" + the VRF. */
export function externalPortName(vrf: string): string {
  return `ext/${vrf}`;
}

/** The external switch's port of type router facing it: "rtr-ext/" + the VRF. */
export function externalSwitchPortName(vrf: string): string {
  return `rtr-ext/${vrf}`;
}

/** An endpoint's published ports of one protocol: one Load_Balancer, "pm/" + endpoint id + "/" + protocol. */
export function portMapName(endpointId: string, protocol: string): string {
  return `pm/${endpointId}/${protocol}`;
}

/** The VRF of a router named by routerName. */
export function vrfOfRouter(name: string): string | undefined {
  return name.startsWith('vrf/') ? name.slice(4) : undefined;
}

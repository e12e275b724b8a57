// What the driver reads back from its own rows: a switch's subnets and MTU, a logical port's
// MAC and addresses. Rows written by older versions or other tools are read defensively: a
// value that does not parse counts as absent.

import type { LogicalSwitch, LogicalSwitchPort, Interface, Port } from '../ovn/tables.generated';
import { Cidr, parseCidr, parseIp, parseMac } from './addr';
import { ENDPOINT_ID_KEY, GATEWAYS_KEY, hasOwnerMark, IFACE_ID_KEY, MTU_KEY, REF_KEY_PREFIX, ROUTER_KEY, SUBNETS_KEY } from './names';

export function ownedByDriver(row: { external_ids: Map<string, string> }): boolean {
  return hasOwnerMark(row.external_ids);
}

function cidrList(text: string): Cidr[] {
  return text.split(',').flatMap((s) => {
    const c = parseCidr(s.trim());
    return c ? [c] : [];
  });
}

export function switchSubnets(sw: LogicalSwitch): Cidr[] {
  return cidrList(sw.external_ids.get(SUBNETS_KEY) ?? '');
}

/** The gateways a switch records ("198.18.10.1/24", IPv6 too), each with its subnet's prefix length. */
export function switchGateways(sw: LogicalSwitch): Cidr[] {
  return cidrList(sw.external_ids.get(GATEWAYS_KEY) ?? '');
}

/** The VRF router that routes the switch, by name; undefined for an unrouted one. */
export function switchRouter(sw: LogicalSwitch | undefined): string | undefined {
  const name = sw?.external_ids.get(ROUTER_KEY);
  return name === undefined || name === '' ? undefined : name;
}

/** What Join answers as the container's gateways: the routed switch's, bare addresses per family. */
export function joinGateways(sw: LogicalSwitch | undefined): { ipv4?: string; ipv6?: string } {
  if (!sw || switchRouter(sw) === undefined) return {};
  const gws = switchGateways(sw);
  const v4 = gws.find((g) => g.family === 4)?.ip;
  const v6 = gws.find((g) => g.family === 6)?.ip;
  return { ...(v4 === undefined ? {} : { ipv4: v4 }), ...(v6 === undefined ? {} : { ipv6: v6 }) };
}

/** A shared switch's refs: chassis name -> that host's Docker network id (none on a legacy switch). */
export function networkRefs(sw: LogicalSwitch): Map<string, string> {
  const refs = new Map<string, string>();
  for (const [k, v] of sw.external_ids) if (k.startsWith(REF_KEY_PREFIX) && v !== '') refs.set(k.slice(REF_KEY_PREFIX.length), v);
  return refs;
}

export function switchMtu(sw: LogicalSwitch | undefined): number | undefined {
  const text = sw?.external_ids.get(MTU_KEY);
  if (text === undefined || !/^[0-9]{2,5}$/.test(text)) return undefined;
  return Number(text);
}

export interface PortAddresses {
  readonly mac: string | undefined;
  readonly ips: readonly string[];
}

/** "MAC IP..." from a logical port's first `addresses` entry. */
export function portAddresses(lsp: LogicalSwitchPort): PortAddresses {
  const tokens = (lsp.addresses[0] ?? '').split(/\s+/).filter((t) => t !== '');
  const mac = tokens[0] === undefined ? undefined : parseMac(tokens[0]);
  const ips = tokens.slice(1).flatMap((t) => {
    const ip = parseIp(t);
    return ip ? [ip.ip] : [];
  });
  return { mac, ips };
}

/**
 * The endpoint an OVS port is for: its Interface's external_ids:iface-id (what ovn-controller
 * binds by), else the Port's docker:endpoint-id; undefined for a port that names none.
 */
export function ovsPortEndpoint(port: Port | undefined, iface: Interface | undefined): string | undefined {
  if (!port) return undefined;
  return iface?.external_ids.get(IFACE_ID_KEY) ?? port.external_ids.get(ENDPOINT_ID_KEY);
}

/** True when the port is another endpoint's (ids that share the first 12 hex digits share its name). */
export function ovsPortIsOthers(port: Port | undefined, iface: Interface | undefined, endpointId: string): boolean {
  const owner = ovsPortEndpoint(port, iface);
  return owner !== undefined && owner !== endpointId;
}

/** True when this OVS port/interface pair is the one the driver made for the endpoint. */
export function ovsPortIsEndpoints(port: Port | undefined, iface: Interface | undefined, endpointId: string): boolean {
  if (!port) return false;
  return iface?.external_ids.get(IFACE_ID_KEY) === endpointId || port.external_ids.get(ENDPOINT_ID_KEY) === endpointId;
}

// A driver on in-memory databases and links, for unit tests (see fake-db.ts, fake-links.ts).

import { parseCreateEndpoint, parseCreateNetwork, parseEndpointRequest, parseJoin } from '../../src/driver/api';
import { NB_MONITOR, OVS_MONITOR } from '../../src/driver/monitors';
import { OvnDriver } from '../../src/driver/service';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, strMap } from '../../src/ovsdb/operations';
import { FakeDb } from './fake-db';
import { FakeLinks } from './fake-links';

export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const CHASSIS = 'chassis-under-test';
export const NET = 'a'.repeat(64);
export const EP = '1b2c3d4e5f60' + '7'.repeat(52);
export const TWIN = '1b2c3d4e5f60' + '8'.repeat(52); // the same first 12 hex digits as EP
export const HOST = 'ovn1b2c3d4e5f60';
export const PEER = 'ovc1b2c3d4e5f60';

export interface Rig {
  nb: FakeDb;
  ovs: FakeDb;
  links: FakeLinks;
  driver: OvnDriver;
  warnings: string[];
}

/** `nb`: another rig's Northbound, for a second host (`chassis`) on the same cluster. */
export async function rig(opts: { readyTimeoutMs?: number; nb?: FakeDb; chassis?: string } = {}): Promise<Rig> {
  const nb = opts.nb ?? new FakeDb(NB_SCHEMA, NB_MONITOR);
  const ovs = new FakeDb(VSWITCH_SCHEMA, OVS_MONITOR);
  await ovs.transact([
    insert('Bridge', { name: 'br-int' }, 'br'),
    insert('Open_vSwitch', { bridges: [namedUuid('br')], external_ids: strMap({ 'system-id': opts.chassis ?? CHASSIS }) }),
  ]);
  const links = new FakeLinks();
  const warnings: string[] = [];
  const logger = { error: (m: string): number => warnings.push(m), warn: (m: string): number => warnings.push(m), info(): void {}, debug(): void {} };
  const driver = new OvnDriver({
    nb, nbRemotes: 'unix:nb.sock', ovs, ovsRemotes: 'unix:db.sock', links, logger,
    config: { bridge: 'br-int', mtu: 1442, readyTimeoutMs: opts.readyTimeoutMs ?? 1, dbTimeoutMs: 1000 },
  });
  return { nb, ovs, links, driver, warnings };
}

export const netReq = (subnet = '198.18.70'): ReturnType<typeof parseCreateNetwork> => parseCreateNetwork({
  NetworkID: NET, Options: { 'com.docker.network.generic': {} }, IPv4Data: [{ Pool: `${subnet}.0/24`, Gateway: `${subnet}.1/24` }],
});
export const epReq = (endpointId = EP, n = 2): ReturnType<typeof parseCreateEndpoint> =>
  parseCreateEndpoint({ NetworkID: NET, EndpointID: endpointId, Interface: { Address: `198.18.70.${n}/24` } });
export const joinReq = (endpointId = EP): ReturnType<typeof parseJoin> =>
  parseJoin({ NetworkID: NET, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/0123456789ab' });
export const req = (endpointId = EP): ReturnType<typeof parseEndpointRequest> => parseEndpointRequest('Leave', { NetworkID: NET, EndpointID: endpointId });


/** The network and endpoint made, as Docker does before Join. */
export async function endpointReady(r: Rig, endpointId = EP, n = 2): Promise<void> {
  await r.driver.createNetwork(netReq());
  await r.driver.createEndpoint(epReq(endpointId, n));
}


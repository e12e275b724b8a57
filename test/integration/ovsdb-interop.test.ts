// Interop with the OVS/OVN tools against real servers: what the client writes, ovn-nbctl and
// ovs-vsctl read back; what they write, the client's replica sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid, Uuid } from '../../src/ovsdb/data';
import { insert, mutate, strMap } from '../../src/ovsdb/operations';
import { Row } from '../../src/ovsdb/schema';
import { NB_SCHEMA, run, startStandalone, VSWITCH_SCHEMA, withCleanup } from '../helpers/ovsdb-server';

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function ifaceId(r: Row): string | undefined {
  return r.external_ids instanceof Map ? str(r.external_ids.get('iface-id')) : undefined;
}

test('OVN Northbound: ovn-nbctl and the client read what the other wrote', () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(NB_SCHEMA);
    defer(() => s.close());
    const nbctl = (...args: string[]): Promise<string> => run('ovn-nbctl', [`--db=${s.remote}`, ...args]);
    const c = new OvsdbClient({ remotes: s.remote, database: 'OVN_Northbound', monitor: { Logical_Switch: 'all', Logical_Switch_Port: 'all' } });
    defer(() => c.close());
    c.replica.createIndex('Logical_Switch_Port', 'name', (r) => str(r.name));
    await c.connect();

    await c.transact([
      insert('Logical_Switch_Port', { name: 'ep1', addresses: ['02:00:00:00:00:01 198.18.0.2'], port_security: ['02:00:00:00:00:01 198.18.0.2'], external_ids: strMap({ owner: 'ovn-driver' }), tag_request: [0] }, 'p'),
      insert('Logical_Switch', { name: 'net1', ports: [namedUuid('p')], other_config: strMap({ subnet: '198.18.0.0/24' }) }),
    ]);
    assert.equal(await nbctl('ls-list').then((o) => /\(net1\)/.test(o)), true);
    assert.equal(await nbctl('lsp-list', 'net1').then((o) => /\(ep1\)/.test(o)), true);
    assert.equal(await nbctl('lsp-get-addresses', 'ep1'), '02:00:00:00:00:01 198.18.0.2\n');
    assert.equal(await nbctl('lsp-get-port-security', 'ep1'), '02:00:00:00:00:01 198.18.0.2\n');
    assert.equal(await nbctl('get', 'Logical_Switch_Port', 'ep1', 'external_ids:owner', 'tag_request'), 'ovn-driver\n0\n');
    assert.equal(await nbctl('get', 'Logical_Switch', 'net1', 'other_config:subnet'), '"198.18.0.0/24"\n');

    await nbctl('lsp-add', 'net1', 'ep2', '--', 'lsp-set-addresses', 'ep2', '02:00:00:00:00:02 198.18.0.3', '--', 'lsp-set-type', 'ep2', 'localport', '--', 'set', 'Logical_Switch_Port', 'ep2', 'external_ids:iface-id=x2');
    const ep2 = await c.replica.waitFor(() => c.replica.lookup('Logical_Switch_Port', 'name', 'ep2')[0], 5000);
    assert.ok(ep2);
    assert.deepEqual(ep2.addresses, ['02:00:00:00:00:02 198.18.0.3']);
    assert.equal(ep2.type, 'localport');
    assert.equal(ifaceId(ep2), 'x2');
    const net1 = [...c.replica.table('Logical_Switch').values()].find((r) => r.name === 'net1');
    assert.ok(net1 && Array.isArray(net1.ports));
    assert.equal(net1.ports.length, 2);
    assert.ok(net1.ports.some((u) => u instanceof Uuid && u.equals(ep2._uuid)));

    await nbctl('lsp-del', 'ep1');
    const gone = await c.replica.waitFor(() => (c.replica.lookup('Logical_Switch_Port', 'name', 'ep1').length === 0 ? true : undefined), 5000);
    assert.equal(gone, true);
    await nbctl('ls-del', 'net1');
    const empty = await c.replica.waitFor(() => (c.replica.table('Logical_Switch_Port').size === 0 && c.replica.table('Logical_Switch').size === 0 ? true : undefined), 5000);
    assert.equal(empty, true);
  }));

test('Open_vSwitch: ovs-vsctl and the client read what the other wrote', () =>
  withCleanup(async (defer) => {
    const s = await startStandalone(VSWITCH_SCHEMA);
    defer(() => s.close());
    // --no-wait: there is no ovs-vswitchd behind this test database.
    const vsctl = (...args: string[]): Promise<string> => run('ovs-vsctl', [`--db=${s.remote}`, '--no-wait', ...args]);
    await vsctl('init');
    const c = new OvsdbClient({
      remotes: s.remote,
      database: 'Open_vSwitch',
      monitor: { Open_vSwitch: ['bridges', 'external_ids'], Bridge: ['name', 'ports'], Port: ['name', 'interfaces'], Interface: ['name', 'type', 'external_ids'] },
    });
    defer(() => c.close());
    c.replica.createIndex('Interface', 'iface-id', ifaceId);
    await c.connect();
    assert.equal(c.replica.table('Open_vSwitch').size, 1);

    await c.transact([
      insert('Interface', { name: 'veth-a', type: '', external_ids: strMap({ 'iface-id': 'ep-a', 'attached-mac': '02:00:00:00:00:0a' }) }, 'i'),
      insert('Port', { name: 'veth-a', interfaces: [namedUuid('i')] }, 'p'),
      insert('Bridge', { name: 'br-test', ports: [namedUuid('p')] }, 'b'),
      mutate('Open_vSwitch', [], [['bridges', 'insert', [namedUuid('b')]]]),
    ]);
    assert.equal(await vsctl('list-br'), 'br-test\n');
    assert.equal(await vsctl('list-ports', 'br-test'), 'veth-a\n');
    assert.equal(await vsctl('get', 'Interface', 'veth-a', 'external_ids:iface-id'), 'ep-a\n');
    assert.equal(await vsctl('iface-to-br', 'veth-a'), 'br-test\n');

    await vsctl('add-port', 'br-test', 'veth-b', '--', 'set', 'Interface', 'veth-b', 'external_ids:iface-id=ep-b');
    const b = await c.replica.waitFor(() => c.replica.lookup('Interface', 'iface-id', 'ep-b')[0], 5000);
    assert.equal(b?.name, 'veth-b');
    assert.equal(c.replica.lookup('Interface', 'iface-id', 'ep-a')[0]?.name, 'veth-a');

    await vsctl('del-port', 'br-test', 'veth-a');
    const gone = await c.replica.waitFor(() => (c.replica.lookup('Interface', 'iface-id', 'ep-a').length === 0 ? true : undefined), 5000);
    assert.equal(gone, true);
    const bridge = [...c.replica.table('Bridge').values()].find((r) => r.name === 'br-test');
    assert.ok(bridge && Array.isArray(bridge.ports) && bridge.ports.length === 1);
  }));

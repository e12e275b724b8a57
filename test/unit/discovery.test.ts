// Start-up discovery (src/discovery.ts) from rows as the local database answers them: the
// Northbound remote from --nb or external_ids:ovn-nb, TLS files from the options or the SSL row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiscoveryError, discoverNorthbound, LocalDb, tlsFor } from '../../src/discovery';
import { Uuid } from '../../src/ovsdb/data';
import type { Value } from '../../src/ovsdb/data';
import type { Operation } from '../../src/ovsdb/operations';
import type { OperationResult } from '../../src/ovsdb/results';

const SSL_UUID = new Uuid('8a6f2b0e-5d4c-4b3a-9f1e-2c3d4e5f6a7b');
const FROM_DB = { privateKey: '/etc/openvswitch/key.pem', certificate: '/etc/openvswitch/cert.pem', caCert: '/etc/openvswitch/ca.pem' };

/** A local database holding one Open_vSwitch row (these external_ids, an SSL row if `ssl`) and, if `bridge`, br-int. */
function localDb(externalIds: Record<string, string>, opts: { ssl?: boolean; bridge?: boolean } = {}): LocalDb & { readonly asked: string[] } {
  const asked: string[] = [];
  const rows = (table: string): Record<string, Value>[] => {
    if (table === 'Open_vSwitch') return [{ external_ids: new Map(Object.entries(externalIds)), ssl: opts.ssl ? SSL_UUID : [] }];
    if (table === 'Bridge') return opts.bridge ? [{ name: 'br-int' }] : [];
    if (table === 'SSL') return [{ private_key: FROM_DB.privateKey, certificate: FROM_DB.certificate, ca_cert: FROM_DB.caCert }];
    throw new Error(`unexpected table ${table}`);
  };
  return {
    asked,
    transact: async (ops: Operation[]): Promise<OperationResult[]> =>
      ops.map((op) => {
        assert.equal(op.op, 'select');
        asked.push(op.table);
        return { rows: rows(op.table) };
      }),
  };
}

const OPTIONS = { nbRemote: undefined, tls: {}, bridge: 'br-int', dbTimeoutMs: 1000 };

test('the Northbound remote is --nb, else external_ids:ovn-nb; unset is a DiscoveryError saying how to set it', async () => {
  assert.deepEqual(await discoverNorthbound(localDb({ 'ovn-nb': 'tcp:198.18.0.1:6641' }, { bridge: true }), OPTIONS), { remotes: 'tcp:198.18.0.1:6641', tls: undefined, bridgePresent: true });
  assert.deepEqual(await discoverNorthbound(localDb({ 'ovn-nb': 'tcp:198.18.0.1:6641' }), { ...OPTIONS, nbRemote: 'tcp:198.18.0.2:6641' }), { remotes: 'tcp:198.18.0.2:6641', tls: undefined, bridgePresent: false });
  const unset: Record<string, string>[] = [{}, { 'ovn-nb': '' }];
  for (const ids of unset) {
    await assert.rejects(discoverNorthbound(localDb(ids), OPTIONS), (e: unknown) => {
      assert.ok(e instanceof DiscoveryError);
      assert.equal(e.code, 'NB_REMOTE_UNSET');
      assert.match(e.message, /external_ids:ovn-nb is not set; set it \(ovs-vsctl set open \. external_ids:ovn-nb=tcp:HOST:6641\) or pass --nb/);
      return true;
    });
  }
});

test("ssl: remotes take each TLS file from its option, else from the local database's SSL row", async () => {
  const db = localDb({ 'ovn-nb': 'tcp:198.18.0.9:6641,ssl:198.18.0.1:6641' }, { ssl: true });
  assert.deepEqual((await discoverNorthbound(db, OPTIONS)).tls, FROM_DB);
  assert.deepEqual(db.asked, ['Open_vSwitch', 'Bridge', 'SSL']);
  const mine = { ...OPTIONS, tls: { privateKey: '/root/key.pem' } };
  assert.deepEqual((await discoverNorthbound(db, mine)).tls, { ...FROM_DB, privateKey: '/root/key.pem' });
  assert.equal(tlsFor('unix:/var/run/openvswitch/db.sock', {}, {}), undefined);
});

test('an ssl: remote with no TLS files anywhere stops start-up, naming the options and ovs-vsctl set-ssl', async () => {
  const check = (e: unknown): boolean => {
    assert.ok(e instanceof DiscoveryError);
    assert.equal(e.code, 'TLS_FILES_MISSING');
    assert.match(e.message, /^failed to connect to "ssl:198\.18\.0\.1:6641": .*pass --private-key, --certificate and --ca-cert, or set them with ovs-vsctl set-ssl$/);
    return true;
  };
  await assert.rejects(discoverNorthbound(localDb({ 'ovn-nb': 'ssl:198.18.0.1:6641' }), OPTIONS), check);
  assert.throws(() => tlsFor('ssl:198.18.0.1:6641', { privateKey: '/k', certificate: '/c' }, {}), check);
});

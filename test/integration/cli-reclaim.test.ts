// `ovn-driver ipam-reclaim CHASSIS [--force]` through the real entry point (dist/src/main.js)
// against private ovsdb-servers: a Northbound holding the allocations of a live host and of two
// gone ones (made by OvnIpam as their daemons would), and a local Open_vSwitch database whose
// external_ids:ovn-nb names it. Each refusal is one line on stderr, exit 1, and changes nothing.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { parseRequestAddress, parseRequestPool, GATEWAY_TYPE, MAC_OPTION, REQUEST_ADDRESS_TYPE } from '../../src/driver/api-ipam';
import { OvnIpam } from '../../src/driver/ipam';
import { IPAM_TABLE } from '../../src/driver/plan-ipam';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, select, strMap } from '../../src/ovsdb/operations';
import type { Logger } from '../../src/util/logger';
import { withCleanup } from '../helpers/cleanup';
import { NB_SCHEMA, startStandalone, VSWITCH_SCHEMA } from '../helpers/ovsdb-server';
import { run, runResult, RunResult } from '../helpers/run';

const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');
const quiet: Logger = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };

function reclaim(args: string[]): Promise<RunResult> {
  return runResult(process.execPath, [MAIN, 'ipam-reclaim', ...args], 30_000);
}

/** Exit 1, nothing on stdout, and exactly one line on stderr that matches `re`. */
function refused(r: RunResult, re: RegExp): void {
  assert.equal(r.code, 1, `exit code; stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^ovn-driver: [^\n]+\n$/, 'one line');
  assert.match(r.stderr, re);
}

test('ipam-reclaim: refused while the chassis has ports, done with --force or once they are gone; unknown, bad names and an unreachable Northbound are one-line errors', () =>
  withCleanup(async (cleanup) => {
    const nbServer = await startStandalone(NB_SCHEMA);
    cleanup.add('stop NB ovsdb-server', () => nbServer.close());
    const local = await startStandalone(VSWITCH_SCHEMA);
    cleanup.add('stop local ovsdb-server', () => local.close());
    await run('ovs-vsctl', [`--db=${local.remote}`, '--no-wait', 'init']);
    await run('ovs-vsctl', [`--db=${local.remote}`, '--no-wait', 'set', 'Open_vSwitch', '.', 'external_ids:system-id=live-host', `external_ids:ovn-nb=${nbServer.remote}`]);

    const nb = new OvsdbClient({ remotes: nbServer.remote, database: 'OVN_Northbound', requestTimeoutMs: 5000 });
    cleanup.add('close NB client', () => nb.close());
    await nb.connect();
    const ipamOf = (chassis: string): OvnIpam => new OvnIpam({ nb, nbRemotes: nbServer.remote, chassis: () => chassis, logger: quiet, dbTimeoutMs: 5000 });
    const pool = (ipam: OvnIpam, subnet: string): string => ipam.requestPool(parseRequestPool({ AddressSpace: 'ovn-local', Pool: subnet, SubPool: '', Options: {}, V6: false })).PoolID;
    let macs = 0;
    const endpoint = async (ipam: OvnIpam, id: string): Promise<string> =>
      (await ipam.requestAddress(parseRequestAddress({ PoolID: id, Address: '', Options: { [MAC_OPTION]: `02:42:00:00:01:${(++macs).toString(16).padStart(2, '0')}` } }))).Address;
    const gateway = async (ipam: OvnIpam, id: string): Promise<void> => {
      await ipam.requestAddress(parseRequestAddress({ PoolID: id, Address: '', Options: { [REQUEST_ADDRESS_TYPE]: GATEWAY_TYPE } }));
    };
    const rows = async (): Promise<string[]> => {
      const [r] = await nb.transact([select(IPAM_TABLE, [], ['name'])]);
      return (r?.rows ?? []).map((row) => String(row['name'])).sort();
    };

    // live-host and gone-1 share a network; gone-1 also has one of its own; gone-2 only a gateway.
    const live = ipamOf('live-host');
    const gone1 = ipamOf('gone-1');
    const gone2 = ipamOf('gone-2');
    const shared = pool(live, '198.18.206.0/24');
    const own = pool(gone1, '198.18.207.0/24');
    const other = pool(gone2, '198.18.208.0/24');
    await gateway(live, shared);
    await gateway(gone1, shared);
    await gateway(gone1, own);
    await gateway(gone2, other);
    await endpoint(gone1, shared);
    await endpoint(gone1, own);
    const liveAddress = await endpoint(live, shared);
    // A logical port of gone-1 is still in the Northbound: its host may still be running.
    await nb.transact([
      insert('Logical_Switch_Port', { name: 'lsp-cli-reclaim', external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'ovn-driver:chassis': 'gone-1' }) }, 'p'),
      insert('Logical_Switch', { name: 'ls-cli-reclaim', ports: [namedUuid('p')] }),
    ]);
    const before = await rows();
    assert.equal(before.length, 6);

    refused(await reclaim(['gone-1', '--nb', nbServer.remote]), /failed to reclaim addresses of chassis "gone-1": the Northbound still has 1 logical port\(s\) of its containers, .*run again with --force/);
    refused(await reclaim(['no-such-host', '--nb', nbServer.remote]), /chassis "no-such-host": nothing in the Northbound .* names it: .*check the name/);
    refused(await reclaim(['gone 1', '--nb', nbServer.remote]), /chassis "gone 1": not a chassis name .*system-id/);
    refused(await reclaim(['--nb', nbServer.remote, '']), /chassis "": not a chassis name/);
    const nowhere = path.join(nbServer.dir, 'nothing-here.sock');
    refused(await reclaim(['gone-1', '--nb', `unix:${nowhere}`, '--db-timeout', '1']), /the Northbound database \(unix:.*nothing-here\.sock\) is unreachable .*no change was made/);
    refused(await reclaim(['gone-1', '--ovsdb', `unix:${nowhere}`, '--db-timeout', '1']), /failed to read the Northbound address from the local Open_vSwitch database at unix:.*nothing-here\.sock: .*pass --nb/);
    assert.deepEqual(await rows(), before, 'the refusals changed nothing');

    // --force: gone-1's two container addresses go, its two gateway holds are dropped, and its own
    // network's gateway (no other holder) is deleted; the port is left, and said so.
    const forced = await reclaim(['gone-1', '--force', '--nb', nbServer.remote]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stderr, '');
    assert.equal(
      forced.stdout,
      `reclaimed chassis "gone-1" in the Northbound (${nbServer.remote}): 2 container address(es) released, 2 hold(s) on gateway and aux addresses dropped, 1 of those row(s) deleted (no host held them any more)\n` +
        'left: 1 logical port(s) of chassis "gone-1"; remove them with ovn-nbctl lsp-del (README, "Several hosts")\n',
    );
    const after = await rows();
    assert.equal(after.length, 3, after.join(', '));
    assert.ok(after.some((n) => n.endsWith(`/${liveAddress.replace(/\/\d+$/, '')}`)), 'the live host\'s container keeps its address');

    // No port of gone-2: no --force needed; the Northbound found through the local database.
    const found = await reclaim(['gone-2', '--ovsdb', local.remote]);
    assert.equal(found.code, 0, found.stderr);
    assert.equal(found.stdout, `reclaimed chassis "gone-2" in the Northbound (${nbServer.remote}): 0 container address(es) released, 1 hold(s) on gateway and aux addresses dropped, 1 of those row(s) deleted (no host held them any more)\n`);
    assert.equal((await rows()).length, 2, 'left: the shared gateway live-host holds and its container');

    // gone-2 is no longer named anywhere: a second run says so rather than pretending.
    refused(await reclaim(['gone-2', '--ovsdb', local.remote]), /chassis "gone-2": nothing in the Northbound/);
  }));

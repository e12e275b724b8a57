// A three-member RAFT cluster of real ovsdb-servers: the client finds the leader, its leader is
// killed during a stream of transactions, and it carries on with the new leader. Every
// transaction is accounted for: committed ones are in the database exactly once, failed ones
// not at all, and those of unknown outcome are counted and looked up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OvsdbClient } from '../../src/ovsdb/client';
import { isOvsdbError } from '../../src/ovsdb/errors';
import { insert, mutate, select } from '../../src/ovsdb/operations';
import { namedUuid } from '../../src/ovsdb/data';
import { NB_SCHEMA, startCluster, withCleanup } from '../helpers/ovsdb-server';

const DB = 'OVN_Northbound';
const N = Number(process.env.CLUSTER_TXNS ?? 300);
const KILL_AT = Math.floor(N / 3);

test('leader killed during a stream of transactions: the client carries on with the new leader', { timeout: 180000 }, () =>
  withCleanup(async (defer) => {
    const cluster = await startCluster(NB_SCHEMA);
    defer(() => cluster.close());
    const leader = await cluster.leader();
    // List the leader last, so finding it is part of what is tested.
    const remotes = [...cluster.members.keys()].sort((a, b) => (a === leader ? 1 : b === leader ? -1 : a - b)).map((i) => cluster.members[i]?.remote ?? '');
    const c = new OvsdbClient({
      remotes: remotes.join(','),
      database: DB,
      backoff: { minMs: 100, maxMs: 1000 },
      requestTimeoutMs: 60000,
      monitor: { Logical_Switch_Port: ['name'] },
    });
    defer(() => c.close());
    const connectedTo: string[] = [];
    c.on('connected', (r: string) => connectedTo.push(r));
    await c.connect();
    assert.equal(c.currentRemote, cluster.members[leader]?.remote, 'leader-only: connected to the leader, not the first remote');
    await c.transact([insert('Logical_Switch', { name: 'sw0' })]);

    const outcome = new Map<string, 'ok' | 'unknown' | 'failed'>();
    let killed: Promise<void> | undefined;
    for (let i = 0; i < N; i++) {
      const name = `p${i}`;
      if (i === KILL_AT) killed = cluster.members[leader]?.kill();
      try {
        await c.transact([
          insert('Logical_Switch_Port', { name }, 'p'),
          mutate('Logical_Switch', [['name', '==', 'sw0']], [['ports', 'insert', [namedUuid('p')]]]),
        ]);
        outcome.set(name, 'ok');
      } catch (e) {
        if (isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME')) outcome.set(name, 'unknown');
        else {
          outcome.set(name, 'failed');
          process.stderr.write(`transaction ${name} failed: ${String(e)}\n`);
        }
      }
    }
    await killed;

    const [sel] = await c.transact([select('Logical_Switch_Port', [], ['name'])]);
    const names = (sel?.rows ?? []).map((r) => String(r.name));
    const count = new Map<string, number>();
    for (const n of names) count.set(n, (count.get(n) ?? 0) + 1);
    const unknown = [...outcome].filter(([, o]) => o === 'unknown').map(([n]) => n);
    const unknownCommitted = unknown.filter((n) => count.has(n));
    process.stdout.write(
      `# cluster: ${N} transactions, leader s${leader + 1} killed at #${KILL_AT}; ` +
        `ok=${[...outcome.values()].filter((o) => o === 'ok').length} unknown=${unknown.length} ` +
        `(committed ${unknownCommitted.length}) failed=${[...outcome.values()].filter((o) => o === 'failed').length}; ` +
        `sessions: ${connectedTo.join(' -> ')}\n`,
    );

    for (const [n, k] of count) assert.equal(k, 1, `${n} is in the database ${k} times`);
    for (const [n, o] of outcome) {
      if (o === 'ok') assert.ok(count.has(n), `${n} was committed but is missing`);
      if (o === 'failed') assert.ok(!count.has(n), `${n} failed but is in the database`);
    }
    assert.equal([...outcome.values()].filter((o) => o === 'failed').length, 0, 'no transaction fails outright');
    assert.equal(names.length, [...outcome].filter(([n, o]) => o === 'ok' || (o === 'unknown' && count.has(n))).length);

    // The client moved to the new leader, and its replica agrees with the database.
    const newLeader = await cluster.leader();
    assert.notEqual(newLeader, leader);
    assert.equal(c.currentRemote, cluster.members[newLeader]?.remote);
    assert.ok(connectedTo.length >= 2);
    const synced = await c.replica.waitFor(() => (c.replica.table('Logical_Switch_Port').size === names.length ? true : undefined), 10000);
    assert.equal(synced, true);
    const replicaNames = [...c.replica.table('Logical_Switch_Port').values()].map((r) => String(r.name)).sort();
    assert.deepEqual(replicaNames, [...names].sort());
  }));

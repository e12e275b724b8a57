// Remote strings as OVS spells them (transport.ts); kept next to the backoff tests because
// both decide where and when the client connects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRemote, parseRemotes } from '../../src/ovsdb/transport';
import { OvsdbError } from '../../src/ovsdb/errors';

test('unix, tcp and ssl remotes', () => {
  assert.deepEqual(parseRemote('unix:/var/run/openvswitch/db.sock'), { kind: 'unix', path: '/var/run/openvswitch/db.sock', text: 'unix:/var/run/openvswitch/db.sock' });
  assert.deepEqual(parseRemote('tcp:127.0.0.1:6641'), { kind: 'tcp', host: '127.0.0.1', port: 6641, text: 'tcp:127.0.0.1:6641' });
  assert.deepEqual(parseRemote('ssl:ovn.example:6641'), { kind: 'ssl', host: 'ovn.example', port: 6641, text: 'ssl:ovn.example:6641' });
  const noPort = parseRemote('tcp:10.0.0.1');
  assert.ok(noPort.kind === 'tcp' && noPort.port === 6640);
});

test('IPv6 addresses in brackets', () => {
  const r = parseRemote('tcp:[::1]:6641');
  assert.ok(r.kind === 'tcp');
  assert.equal(r.host, '::1');
  assert.equal(r.port, 6641);
  const s = parseRemote('ssl:[fd00:198:18::1]');
  assert.ok(s.kind === 'ssl' && s.host === 'fd00:198:18::1' && s.port === 6640);
});

test('comma-separated lists, with spaces', () => {
  const rs = parseRemotes('tcp:127.0.0.1:6641, tcp:[::1]:6642 ,unix:/tmp/x.sock');
  assert.deepEqual(rs.map((r) => r.text), ['tcp:127.0.0.1:6641', 'tcp:[::1]:6642', 'unix:/tmp/x.sock']);
});

test('bad remotes fail with a typed error that says what to write', () => {
  for (const bad of ['', 'foo:bar', 'tcp:', 'tcp:::1:6641', 'tcp:[::1', 'tcp:[zz]:1', 'tcp:1.2.3.4:0', 'tcp:1.2.3.4:99999', 'tcp:1.2.3.4:x', 'punix:/tmp/s', 'unix:', ' , ']) {
    assert.throws(
      () => parseRemotes(bad),
      (e: unknown) => e instanceof OvsdbError && e.code === 'OVSDB_NOT_SUPPORTED' && /failed to parse OVSDB remote/.test(e.message) && /unix:PATH/.test(e.message),
      `remote ${JSON.stringify(bad)}`,
    );
  }
});

// ssl: and tcp: remotes on 127.0.0.1 against a real ovsdb-server: certificates made by openssl
// for the test, a client from another CA refused with a clear error, and the inactivity probe
// dropping a server that stopped answering (SIGSTOP) and coming back after SIGCONT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OvsdbClient } from '../../src/ovsdb/client';
import { isOvsdbError, OvsdbError } from '../../src/ovsdb/errors';
import { insert, select } from '../../src/ovsdb/operations';
import { NB_SCHEMA, run, startTlsServer, withCleanup } from '../helpers/ovsdb-server';

const DB = 'OVN_Northbound';

test('ssl remote with a CA, server and client certificates made by openssl', () =>
  withCleanup(async (defer) => {
    const t = await startTlsServer(NB_SCHEMA);
    defer(() => t.server.close());
    const c = new OvsdbClient({ remotes: t.sslRemote, database: DB, tls: t.certs.client, monitor: { Logical_Switch: ['name'] } });
    defer(() => c.close());
    await c.connect();
    assert.equal(c.currentRemote, t.sslRemote);
    await c.transact([insert('Logical_Switch', { name: 'over-tls' })]);
    const row = await c.replica.waitFor(() => [...c.replica.table('Logical_Switch').values()].find((r) => r.name === 'over-tls'), 5000);
    assert.ok(row);
    // ovn-nbctl, over the same ssl listener, reads it back.
    const out = await run('ovn-nbctl', [`--db=${t.sslRemote}`, '-p', t.certs.client.privateKey, '-c', t.certs.client.certificate, '-C', t.certs.ca, 'ls-list']);
    assert.match(out, /\(over-tls\)/);
  }));

test('a client whose certificate comes from another CA is refused, with the cause in the error', () =>
  withCleanup(async (defer) => {
    const t = await startTlsServer(NB_SCHEMA);
    defer(() => t.server.close());
    // Our CA file is the other CA too, so the server's certificate fails our check as well.
    const c = new OvsdbClient({ remotes: t.sslRemote, database: DB, tls: t.certs.otherClient, requestTimeoutMs: 1500, backoff: { minMs: 100, maxMs: 200 } });
    defer(() => c.close());
    await assert.rejects(c.transact([select('Logical_Switch', [])]), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_REQUEST_TIMEOUT'), String(e));
      assert.ok(e.message.includes(t.sslRemote), e.message);
      assert.match(e.message, /certificate|self.signed|unknown ca|alert/i);
      return true;
    });

    // Right CA for the server, but a client certificate the server does not trust.
    const c2 = new OvsdbClient({
      remotes: t.sslRemote,
      database: DB,
      tls: { caCert: t.certs.ca, privateKey: t.certs.otherClient.privateKey, certificate: t.certs.otherClient.certificate },
      requestTimeoutMs: 1500,
      backoff: { minMs: 100, maxMs: 200 },
    });
    defer(() => c2.close());
    await assert.rejects(c2.transact([select('Logical_Switch', [])]), (e: unknown) => {
      assert.ok(isOvsdbError(e, 'OVSDB_REQUEST_TIMEOUT'), String(e));
      // Node 20 surfaces the server's TLS alert; Node 16 (OpenSSL 1.1.1, TLS 1.3) sees only the
      // server hanging up right after the handshake. Either way no request got through.
      assert.match(e.message, /unknown ca|alert|the server closed the connection/i);
      assert.match(e.message, /check the TLS private key, certificate and CA certificate/);
      return true;
    });
  }));

test('missing TLS files fail with the file named', () =>
  withCleanup(async (defer) => {
    const c = new OvsdbClient({
      remotes: 'ssl:127.0.0.1:9',
      database: DB,
      tls: { caCert: '/nonexistent/ca.pem', privateKey: '/nonexistent/key.pem', certificate: '/nonexistent/cert.pem' },
      requestTimeoutMs: 500,
      backoff: { minMs: 100, maxMs: 200 },
    });
    defer(() => c.close());
    await assert.rejects(c.echo(), (e: unknown) => isOvsdbError(e, 'OVSDB_REQUEST_TIMEOUT') && /nonexistent/.test(e.message));
  }));

test('inactivity probe on tcp: a server that stops answering is dropped, and found again', () =>
  withCleanup(async (defer) => {
    const t = await startTlsServer(NB_SCHEMA);
    defer(() => t.server.close());
    const c = new OvsdbClient({ remotes: t.tcpRemote, database: DB, probeIntervalMs: 200, backoff: { minMs: 100, maxMs: 300 }, requestTimeoutMs: 20000 });
    defer(() => c.close());
    await c.connect();
    // Idle but alive: probes are answered and the session stays.
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(c.state, 'connected');

    const dropped = new Promise<OvsdbError | undefined>((resolve) => c.once('disconnected', resolve));
    t.server.server.pause();
    defer(() => t.server.server.resume());
    const err = await dropped;
    assert.ok(isOvsdbError(err, 'OVSDB_REQUEST_TIMEOUT'), String(err));
    assert.match(err.message, /inactivity probe/);

    const back = new Promise<string>((resolve) => c.once('connected', resolve));
    t.server.server.resume();
    assert.equal(await back, t.tcpRemote);
    const [r] = await c.transact([insert('Logical_Switch', { name: 'after-probe' })]);
    assert.ok(r?.uuid);
  }));

// Hostile input at the plugin socket: at least 10,000 generated requests (seeded; the seed is
// printed, OVN_DRIVER_FUZZ_SEED replays one) plus slow partial requests on raw sockets, against
// an isolated daemon. Every request gets an HTTP answer, the daemon stays up, and its databases
// and its namespace's links are exactly as before.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { withCleanup } from '../helpers/cleanup';
import { countByStatus, FuzzRequest, fuzzRequest, Prng } from '../helpers/fuzz';
import { snapshot, startIsolatedDaemon } from '../helpers/isolated-daemon';
import { pluginActive } from '../helpers/stack';

const COUNT = Number(process.env['OVN_DRIVER_FUZZ_COUNT'] ?? 10_000);
const CONCURRENCY = 16;
// Bounds on "promptly": past them a request counts as unanswered (the test then fails).
const ANSWER_TIMEOUT_MS = 15_000;
const SLOW_ANSWER_TIMEOUT_MS = 30_000;
const EARLY_ANSWER_WAIT_MS = 1_000;

interface Answer {
  readonly status: number; // 0: no HTTP answer
  readonly body: string;
  readonly error?: string;
}

/**
 * One request on its own raw connection (so a server that answers before reading the whole
 * body, as with 413, is still heard: write errors are ignored, the answer is read).
 */
function send(socketPath: string, r: FuzzRequest): Promise<Answer> {
  return new Promise((resolve) => {
    const head = [`${r.method} ${r.path} HTTP/1.1`, 'Host: plugin', 'Connection: close', `Content-Length: ${r.body.length}`];
    if (r.contentType !== undefined) head.push(`Content-Type: ${r.contentType}`);
    const s = net.connect(socketPath);
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = `no answer in ${ANSWER_TIMEOUT_MS} ms`;
      s.destroy();
    }, ANSWER_TIMEOUT_MS);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e) => (error ??= e.message));
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 ([0-9]{3}) /.exec(text)?.[1] ?? 0);
      const at = text.indexOf('\r\n\r\n');
      resolve({ status, body: at < 0 ? '' : text.slice(at + 4), ...(status === 0 && error !== undefined ? { error } : {}) });
    });
    // No half-close: node's server drops a request whose client ended its side (Docker never does).
    // A large body waits a moment for an early answer, as curl does: a server answers 413 from
    // the headers, then closes, and a write into the closed socket would lose that answer
    // (EPIPE destroys the socket before the pending read). The body then goes in chunks.
    const headBytes = Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1');
    let offset = 0;
    // A small request goes in one write: nothing is left to write when the server answers early.
    if (r.body.length <= 65_536) {
      s.write(Buffer.concat([headBytes, r.body]));
      offset = r.body.length;
    } else s.write(headBytes);
    const pump = (): void => {
      if (chunks.length > 0 || offset >= r.body.length || s.destroyed) return;
      const piece = r.body.subarray(offset, offset + 65_536);
      offset += piece.length;
      s.write(piece, () => setImmediate(pump));
    };
    if (offset < r.body.length) setTimeout(pump, EARLY_ANSWER_WAIT_MS);
  });
}

/** Writes `parts` to a raw connection, `gapMs` apart, then waits for the server's status line or close. */
function slowRequest(socketPath: string, parts: readonly string[], gapMs: number): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    let text = '';
    let finished = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (status: number): void => {
      if (finished) return;
      finished = true;
      timers.forEach(clearTimeout);
      s.destroy();
      resolve({ status, ms: Date.now() - started });
    };
    const statusOf = (): number => Number(/^HTTP\/1\.1 ([0-9]{3})/.exec(text)?.[1] ?? 0);
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (statusOf() !== 0) finish(statusOf());
    });
    s.on('close', () => finish(statusOf()));
    s.on('error', () => finish(statusOf()));
    parts.forEach((p, i) => timers.push(setTimeout(() => s.write(p), i * gapMs)));
    timers.push(setTimeout(() => finish(-1), SLOW_ANSWER_TIMEOUT_MS));
  });
}

function dribble(text: string): string[] {
  return text.split('');
}

test('fuzz: 10,000 hostile requests all get an answer and change nothing', { timeout: 900_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const d = await startIsolatedDaemon(cleanup);
    const before = await snapshot(d);
    const pid = d.pid();
    const seed = Number(process.env['OVN_DRIVER_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 32));
    process.stdout.write(`# fuzz seed ${seed} (replay: OVN_DRIVER_FUZZ_SEED=${seed})\n`);
    const rng = new Prng(seed);

    // Slow partial requests run alongside the burst: they must not stop others being served.
    const body = '{"NetworkID":"x","EndpointID":"y"}';
    const slow = Promise.all([
      // Headers never finished.
      slowRequest(d.socketPath, ['POST /NetworkDriver.Join HTTP/1.1\r\nHost: plugin\r\nContent-Len'], 0),
      // Body shorter than its Content-Length, never finished.
      slowRequest(d.socketPath, [`POST /NetworkDriver.Join HTTP/1.1\r\nHost: plugin\r\nContent-Length: 100\r\n\r\n`, body.slice(0, 10)], 10),
      // A whole (bad) request, one byte every 5 ms: finishes, and is answered.
      slowRequest(d.socketPath, dribble(`POST /NetworkDriver.Leave HTTP/1.1\r\nHost: plugin\r\nContent-Length: ${body.length}\r\n\r\n${body}`), 5),
      // Headers dribbled then abandoned half way.
      slowRequest(d.socketPath, dribble('POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHo'), 50),
    ]);

    const statuses: number[] = [];
    const unanswered: string[] = [];
    const byKind = new Map<string, number>();
    let next = 0;
    const started = Date.now();
    const worker = async (): Promise<void> => {
      while (next < COUNT) {
        next++;
        const r = fuzzRequest(rng);
        byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + 1);
        const a = await send(d.socketPath, r);
        statuses.push(a.status);
        if (a.status === 0) unanswered.push(`${r.kind} ${r.method} ${r.path.slice(0, 80)}: ${a.error ?? ''}`);
        else if (a.status === 200 && !/^\{\}$|Implements|Scope|"Value"/.test(a.body)) unanswered.push(`${r.kind} ${r.path}: unexpected 200 ${a.body.slice(0, 200)}`);
        else if (a.status !== 200 && a.status !== 404 && !a.body.includes('"Err"') && a.status !== 413) unanswered.push(`${r.kind} ${r.path}: ${a.status} without Err: ${a.body.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsedMs = Date.now() - started;
    const slowResults = await slow;

    const counts = countByStatus(statuses);
    process.stdout.write(`FIGURE: fuzz requests=${statuses.length} answered=${statuses.length - statuses.filter((s) => s === 0).length} by-status=${JSON.stringify(counts)} elapsed=${elapsedMs}ms seed=${seed} (node --test dist/test/integration/fuzz.test.js)\n`);
    process.stdout.write(`FIGURE: fuzz kinds ${JSON.stringify(Object.fromEntries(byKind))}\n`);
    process.stdout.write(`FIGURE: fuzz slow partial requests answered ${JSON.stringify(slowResults)} (status 0 = closed by the server without an answer)\n`);

    assert.ok(statuses.length >= COUNT, `sent ${statuses.length}`);
    assert.deepEqual(unanswered.slice(0, 20), [], `${unanswered.length} requests without a proper answer`);
    assert.equal(d.alive(), true, `the daemon died:\n${d.output().slice(-4000)}`);
    assert.equal(d.pid(), pid);
    assert.equal(await pluginActive(d.socketPath), true, 'Plugin.Activate no longer answers');
    for (const [i, r] of slowResults.entries()) {
      // The dribbled complete request gets its 400; abandoned ones are timed out by the server.
      assert.notEqual(r.status, -1, `slow request ${i} was neither answered nor closed within ${SLOW_ANSWER_TIMEOUT_MS} ms`);
      if (i === 2) assert.equal(r.status, 400);
    }
    const after = await snapshot(d);
    assert.equal(after.nb, before.nb, 'the Northbound database changed');
    assert.equal(after.ovs, before.ovs, 'the Open_vSwitch database changed');
    assert.equal(after.links, before.links, 'the links changed');
  });
});

// The plugin API on a real unix socket, where the kernel's behaviour matters: an oversized body
// (2 MiB, written at once as Go's client writes it) must get its 413 answer, every time, not a
// reset connection. Needs no root and no databases.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DriverApi } from '../../src/driver/calls';
import { buildServer } from '../../src/server/server';
import { withCleanup } from '../helpers/cleanup';

const quiet = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };

/** A driver that must not be reached: every oversized request is refused before it. */
const unreachable = new Proxy({}, { get: (_t, name) => () => Promise.reject(new Error(`driver.${String(name)} called`)) }) as DriverApi;

interface Outcome {
  readonly answer: string;
  readonly error: string | undefined;
}

/** Headers and the whole body written at once; what came back and any socket error. */
function oversized(socketPath: string, body: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    const chunks: Buffer[] = [];
    let error: string | undefined;
    s.on('connect', () => {
      s.write(`POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      s.write(body);
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    s.on('close', () => resolve({ answer: Buffer.concat(chunks).toString('utf8'), error }));
  });
}

test('an oversized body gets its 413 answer every time, with no reset or broken pipe', { timeout: 120_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-413-'));
    cleanup.add('remove the socket dir', () => fs.rm(dir, { recursive: true, force: true }));
    const socketPath = path.join(dir, 'ovn.sock');
    const app = buildServer({ driver: unreachable, logger: quiet });
    await app.listen({ path: socketPath });
    cleanup.add('close the server', () => app.close());
    const body = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const tries = 50;
    const failures: string[] = [];
    for (let i = 0; i < tries; i++) {
      const o = await oversized(socketPath, body);
      const clean = /^HTTP\/1\.1 413 /.test(o.answer) && /"Err":"failed to read NetworkDriver.CreateNetwork request: the body is larger than the driver accepts/.test(o.answer) && o.error === undefined;
      if (!clean) failures.push(`try ${i}: ${o.error ?? 'no error'}, answer ${JSON.stringify(o.answer.slice(0, 40))}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${tries} tries did not get a clean 413`);
  });
});

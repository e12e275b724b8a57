import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger, LogFileError, renderLine, underSystemd } from '../../src/log';

/** A stream that collects what the logger writes, and waits until `n` lines arrived. */
function sink(): { stream: PassThrough; lines: (n: number) => Promise<string[]> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const lines = async (n: number): Promise<string[]> => {
    for (;;) {
      const all = text.split('\n').filter((l) => l !== '');
      if (all.length >= n) return all;
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    }
  };
  return { stream, lines };
}

test('under systemd each line carries its syslog priority for journald', async () => {
  const out = sink();
  const log = createLogger({ level: 'debug', stdout: true, stdoutStream: out.stream, env: { JOURNAL_STREAM: '8:1234' } });
  log.error('e1');
  log.warn('w1');
  log.info('i1', { networkId: 'abc' });
  log.debug('d1', { ms: 3 });
  assert.deepEqual(await out.lines(4), ['<3>e1', '<4>w1', '<6>i1 networkId=abc', '<7>d1 ms=3']);
  await log.close();
});

test('systemd is detected from JOURNAL_STREAM or INVOCATION_ID', () => {
  assert.equal(underSystemd({ JOURNAL_STREAM: '8:1' }), true);
  assert.equal(underSystemd({ INVOCATION_ID: 'abc' }), true);
  assert.equal(underSystemd({}), false);
  assert.equal(underSystemd({ JOURNAL_STREAM: '' }), false);
});

test('elsewhere lines are human-readable with a timestamp, and the level filters', async () => {
  const out = sink();
  const log = createLogger({ level: 'warn', stdout: true, stdoutStream: out.stream, env: {} });
  log.debug('hidden debug');
  log.info('hidden info');
  log.warn('shown warn', { endpointId: 'e'.repeat(64) });
  log.error('shown error');
  const lines = await out.lines(2);
  assert.equal(lines.length, 2);
  assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warn {2}shown warn endpointId=e{64}$/);
  assert.match(lines[1] ?? '', /^\S+Z error shown error$/);
  await log.close();
});

test('errors show code and message; multi-line text stays on one line; keys never appear', () => {
  const err = Object.assign(new Error('failed to connect to "unix:/x": ENOENT'), { code: 'OVSDB_DISCONNECTED' });
  assert.equal(renderLine('boom', { err }), 'boom err="OVSDB_DISCONNECTED: failed to connect to \\"unix:/x\\": ENOENT"');
  assert.equal(renderLine('a\nb', undefined), 'a\\nb');
  const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';
  const line = renderLine(`loaded ${pem}`, { key: pem, nested: { k: pem } });
  assert.ok(!line.includes('MIIEvQ'), line);
  assert.ok(line.includes('[private key redacted]'));
});

test('the log file gets every line; reopen() after a rename starts a new file, losing none', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-log-'));
  try {
    const file = path.join(dir, 'ovn-driver.log');
    const log = createLogger({ level: 'info', file, stdout: false, env: {} });
    for (let i = 0; i < 500; i++) log.info(`before ${i}`);
    await fs.rename(file, `${file}.1`); // what logrotate does before its postrotate HUP
    log.reopen();
    for (let i = 0; i < 500; i++) log.info(`after ${i}`);
    await log.close();
    const rotated = (await fs.readFile(`${file}.1`, 'utf8')).split('\n').filter((l) => l !== '');
    const current = (await fs.readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
    assert.equal(rotated.length, 500);
    assert.equal(current.length, 500);
    assert.ok(rotated.every((l) => / info {2}before \d+$/.test(l)));
    assert.ok(current.every((l) => / info {2}after \d+$/.test(l)));
    assert.equal((await fs.stat(file)).mode & 0o777, 0o640 & ~process.umask());
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('an unusable log file fails at creation with a typed error naming the file', () => {
  assert.throws(
    () => createLogger({ level: 'info', file: '/nonexistent-dir/ovn-driver.log', stdout: false, env: {} }),
    (err: unknown) => err instanceof LogFileError && err.code === 'LOG_FILE_OPEN_FAILED' && /"\/nonexistent-dir\/ovn-driver\.log"/.test(err.message),
  );
});

test('a failed reopen keeps logging to the old file and says so', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-log-'));
  try {
    const sub = path.join(dir, 'sub');
    await fs.mkdir(sub);
    const file = path.join(sub, 'ovn-driver.log');
    const log = createLogger({ level: 'info', file, stdout: false, env: {} });
    log.info('one');
    await fs.rename(sub, path.join(dir, 'moved')); // the directory is gone: reopen cannot create the file
    log.reopen();
    log.info('two');
    await log.close();
    const lines = (await fs.readFile(path.join(dir, 'moved', 'ovn-driver.log'), 'utf8')).split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 3);
    assert.match(lines[1] ?? '', /error failed to reopen log file/);
    assert.match(lines[2] ?? '', /info {2}two$/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

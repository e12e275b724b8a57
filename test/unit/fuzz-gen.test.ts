// The fuzz generator itself: a seed gives the same requests on every run, every kind of hostile
// input is produced, and no generated request could create anything (the driver's own parsers
// refuse every CreateNetwork, and every creating call's defect is one the parsers catch).

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseCreateEndpoint, parseCreateNetwork, parseJoin } from '../../src/driver/api';
import { isDriverError } from '../../src/driver/errors';
import { FUZZ_KINDS, fuzzRequest, OVERSIZED_BYTES, Prng } from '../helpers/fuzz';

test('the same seed gives the same requests', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  for (let i = 0; i < 500; i++) {
    const x = fuzzRequest(a);
    const y = fuzzRequest(b);
    assert.equal(x.path, y.path);
    assert.ok(x.body.equals(y.body));
  }
  assert.notEqual(new Prng(1).next(), new Prng(2).next());
});

test('every kind appears in 10,000 requests', () => {
  const rng = new Prng(7);
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) seen.add(fuzzRequest(rng).kind);
  assert.deepEqual([...seen].sort(), [...FUZZ_KINDS].sort());
});

function parsed(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

test('no generated request would create a network; creating calls fail to parse unless they name unknown objects', () => {
  const rng = new Prng(99);
  let checked = 0;
  for (let i = 0; i < 20_000; i++) {
    const r = fuzzRequest(rng);
    if (r.body.length > OVERSIZED_BYTES - 1) continue; // refused by the body limit first
    const body = parsed(r.body);
    if (body === undefined || r.method !== 'POST') continue;
    const parsers: Record<string, (b: unknown) => unknown> = {
      '/NetworkDriver.CreateNetwork': parseCreateNetwork,
      '/NetworkDriver.CreateEndpoint': parseCreateEndpoint,
      '/NetworkDriver.Join': parseJoin,
    };
    // The server routes by path alone: a query string is ignored.
    const parse = parsers[r.path.split('?')[0] ?? ''];
    if (parse === undefined) continue;
    let ok = false;
    try {
      parse(body);
      ok = true;
    } catch (e) {
      assert.ok(isDriverError(e, 'INVALID_REQUEST'), `${r.kind} ${r.path}: ${String(e)}`);
    }
    // CreateEndpoint and Join may be valid only as "unknown-object" or "bad-cidr"/"bad-mac" with
    // an unknown network: the daemon then answers NOT_FOUND. A valid CreateNetwork never.
    if (ok) {
      assert.notEqual(r.path, '/NetworkDriver.CreateNetwork', `${r.kind} would create a network: ${r.body.toString().slice(0, 300)}`);
      assert.ok(['unknown-object', 'bad-cidr', 'bad-mac', 'wrong-type'].includes(r.kind), `${r.kind} ${r.path} parsed: ${r.body.toString().slice(0, 300)}`);
    }
    checked++;
  }
  assert.ok(checked > 1000, `only ${checked} creating requests checked`);
});

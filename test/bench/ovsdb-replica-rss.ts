// The replica half of ovsdb-bench, run in its own process so that the figures are the
// replica's and not the benchmark's: connects to the given Northbound remote with the driver's
// monitor and indexes, holds the replica, and prints its memory figures as one JSON line.
//
//   node --expose-gc dist/test/bench/ovsdb-replica-rss.js REMOTE [SETTLE_S]
//
// It loads only what the client needs, so "base" is node plus the client's modules.

import { NB_MONITOR } from '../../src/driver/monitors';
import { OvsdbClient } from '../../src/ovsdb/client';

export interface ReplicaFigures {
  node: string;
  rows: number;
  /** Before connecting: node itself and the client's modules. */
  baselineRss: number;
  syncMs: number;
  rssAfterSync: number;
  /** The lowest RSS while idle, without forcing a GC: what a quiet daemon reaches by itself. */
  idleRss: number;
  idleAfterS: number;
  /** After two forced full GCs (with --expose-gc) and a second for the pages to be returned. */
  gcRss: number;
  gcHeapUsed: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

async function measure(remote: string, settleS: number): Promise<ReplicaFigures> {
  await sleep(300);
  const baselineRss = process.memoryUsage().rss;
  const c = new OvsdbClient({ remotes: remote, database: 'OVN_Northbound', monitor: NB_MONITOR, requestTimeoutMs: 120000 });
  try {
    // The indexes the driver creates (src/driver/db.ts ensureIndexes).
    for (const t of ['Logical_Switch', 'Logical_Switch_Port']) c.replica.createIndex(t, 'name', (r) => (typeof r.name === 'string' ? r.name : undefined));
    const t0 = nowMs();
    await c.connect();
    const syncMs = nowMs() - t0;
    const rssAfterSync = process.memoryUsage().rss;
    // V8 keeps the garbage of the large monitor reply until a GC it schedules by itself (its
    // memory reducer runs some seconds into an idle period): watch for the lowest RSS.
    let idleRss = rssAfterSync;
    let idleAfterS = 0;
    for (let s = 1; s <= settleS; s++) {
      await sleep(1000);
      const rss = process.memoryUsage().rss;
      if (rss < idleRss) {
        idleRss = rss;
        idleAfterS = s;
      }
    }
    const gc: unknown = Reflect.get(globalThis, 'gc');
    if (typeof gc === 'function') {
      gc();
      gc();
    }
    await sleep(1000);
    const m = process.memoryUsage();
    const rows = c.replica.table('Logical_Switch_Port').size;
    return { node: process.version, rows, baselineRss, syncMs, rssAfterSync, idleRss, idleAfterS, gcRss: m.rss, gcHeapUsed: m.heapUsed };
  } finally {
    await c.close();
  }
}

if (require.main === module) {
  const settle = Number(process.argv[3] ?? 20);
  measure(process.argv[2] ?? '', Number.isInteger(settle) && settle >= 0 ? settle : 20).then(
    (fig) => process.stdout.write(`${JSON.stringify(fig)}\n`),
    (e: unknown) => {
      process.stderr.write(`${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

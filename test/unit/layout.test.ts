// The layering of src/ (STYLE.md's layout table): dependencies point one way, and each layer
// imports only what its row allows. Read from the sources, so a new import that breaks the rule
// fails here, not in review.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const SRC = path.resolve(__dirname, '..', '..', '..', 'src');

/** Every .ts file under src/, as a path relative to src/ ("driver/service.ts"). */
function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') ? [path.relative(SRC, full)] : [];
  });
}

/** What `file` imports: node:* and package names as written; relative ones as paths under src/ ("ovsdb/data"). */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms), ...text.matchAll(/\brequire\('([^']+)'\)/g)].map((m) => m[1] ?? '');
  return specs.map((s) => (s.startsWith('.') ? path.normalize(path.join(path.dirname(file), s)) : s));
}

/** The layer of a path under src/: its folder, or the file's own name at the top. */
function layer(p: string): string {
  return p.includes(path.sep) ? p.slice(0, p.indexOf(path.sep)) : p.replace(/\.ts$/, '');
}

/** What each layer may import besides itself: layers of src/, npm packages, node:* (all of it or some modules). */
const ALLOWED: Readonly<Record<string, { layers: readonly string[]; packages?: readonly string[]; node: boolean | readonly string[] }>> = {
  // Leaves: nothing at all, so every layer may use them.
  util: { layers: [], node: false },
  time: { layers: [], node: false },
  ovsdb: { layers: ['util'], node: true },
  netlink: { layers: ['util'], packages: ['netlink'], node: true },
  ovn: { layers: ['ovsdb', 'util'], node: false },
  docker: { layers: ['util'], node: true },
  // The driver knows nothing of sockets or HTTP: Docker reaches it through an interface.
  driver: { layers: ['ovn', 'ovsdb', 'netlink', 'util', 'time'], node: ['node:perf_hooks', 'node:net', 'node:crypto'] },
  server: { layers: ['driver', 'util', 'time'], packages: ['fastify'], node: true },
  config: { layers: ['ovsdb', 'util'], packages: ['yargs/yargs'], node: true },
  log: { layers: ['config', 'util'], packages: ['winston'], node: true },
  discovery: { layers: ['config', 'ovsdb', 'util'], node: false },
  // doctor probes the kernel (netlink) and reports what Join does on this host (driver).
  cli: { layers: ['config', 'discovery', 'docker', 'driver', 'netlink', 'ovsdb', 'util'], node: true },
  main: { layers: ['cli', 'config', 'discovery', 'docker', 'driver', 'log', 'netlink', 'ovsdb', 'server', 'util'], node: true },
};

test('each layer of src/ imports only what the layout allows', () => {
  const wrong: string[] = [];
  const files = sources();
  assert.ok(files.length > 20, `found the sources in ${SRC}`);
  for (const file of files) {
    const from = layer(file);
    const rule = ALLOWED[from];
    if (rule === undefined) {
      wrong.push(`${file}: layer "${from}" is not in the layout table (add it to STYLE.md, the README and this test)`);
      continue;
    }
    for (const spec of importsOf(file, readFileSync(path.join(SRC, file), 'utf8'))) {
      if (spec.startsWith('node:')) {
        if (rule.node === true || (Array.isArray(rule.node) && rule.node.includes(spec))) continue;
      } else if (spec.startsWith('..')) {
        // package.json, which dist/src/config.js reads for the version (two folders up from there).
        if (from === 'config' && spec === path.join('..', '..', 'package.json')) continue;
      } else if (rule.packages?.includes(spec)) {
        continue;
      } else if (layer(spec) === from || rule.layers.includes(layer(spec))) {
        continue;
      }
      wrong.push(`${file} imports "${spec}"`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the import reader sees every form the sources use', () => {
  const text = [
    "import { a } from './x';",
    "import type { B } from '../ovsdb/data';",
    'import {\n  c,\n  d,\n} from "unused";',
    "import {\n  e,\n} from '../netlink/types';",
    "export { f } from '../util/json';",
    "export type { G } from './y';",
    "const pkg = require('../../package.json');",
    "import * as http from 'node:http';",
  ].join('\n');
  assert.deepEqual(importsOf(path.join('driver', 'z.ts'), text), [
    path.join('driver', 'x'), path.join('ovsdb', 'data'), path.join('netlink', 'types'), path.join('util', 'json'), path.join('driver', 'y'), 'node:http', path.join('..', 'package.json'),
  ]);
});

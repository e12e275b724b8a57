// Generates src/ovn/tables.generated.ts from the installed OVSDB schemas: one interface per
// table the driver uses, its name and column list, a checked converter from a Row, and the
// schema versions. `node dist/scripts/gen-tables.js --check` fails if the committed file
// differs from what the installed schemas give (run it after upgrading OVS/OVN).
//
// Options: --check, --vswitch PATH, --nb PATH, --out PATH.

import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Atom } from '../src/ovsdb/data';
import { BaseType, ColumnType, columnKind, DatabaseSchema, parseDatabaseSchema } from '../src/ovsdb/schema';

export const DEFAULT_VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const DEFAULT_NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
const REPO = path.resolve(__dirname, '..', '..');
export const DEFAULT_OUT = path.join(REPO, 'src', 'ovn', 'tables.generated.ts');

export const VSWITCH_TABLES = ['Open_vSwitch', 'Bridge', 'Port', 'Interface'];
export const NB_TABLES = ['NB_Global', 'Logical_Switch', 'Logical_Switch_Port', 'Logical_Router', 'Logical_Router_Port', 'NAT', 'Load_Balancer', 'HA_Chassis_Group', 'HA_Chassis', 'Logical_Router_Static_Route'];

/** Logical_Switch_Port -> LogicalSwitchPort, NB_Global -> NBGlobal, Open_vSwitch -> OpenVSwitch. */
export function typeName(table: string): string {
  return table
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** LogicalSwitchPort -> logicalSwitchPort, NBGlobal -> nbGlobal. */
export function lowerFirst(s: string): string {
  return s.replace(/^[A-Z]+(?=[A-Z][a-z])|^[A-Z]+$|^[A-Z]/, (m) => m.toLowerCase());
}

/** A single-quoted TS string literal, the quoting the rest of the code base uses. */
function q(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function literal(a: Atom): string {
  return typeof a === 'string' ? q(a) : String(a);
}

// The helpers of ./row the emitted code refers to, so the import lists only those.
let used = new Set<string>();
// Enum guards, hoisted to module constants so a row read builds no sets: name -> code.
let enumGuards = new Map<string, string>();
function use(name: string): string {
  used.add(name);
  return name;
}

function atomType(b: BaseType): string {
  if (b.enum) return [...b.enum].sort().map(literal).join(' | ');
  switch (b.type) {
    case 'integer':
    case 'real':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    case 'uuid':
      return 'Uuid';
  }
}

function guard(b: BaseType, constName: string): string {
  if (b.enum) {
    enumGuards.set(constName, `${use('oneOf')}([${[...b.enum].sort().map(literal).join(', ')}] as const)`);
    return constName;
  }
  switch (b.type) {
    case 'integer':
      return use('isInteger');
    case 'real':
      return use('isReal');
    case 'boolean':
      return use('isBoolean');
    case 'string':
      return use('isString');
    case 'uuid':
      return use('isUuid');
  }
}

function defaultAtom(b: BaseType): string {
  if (b.enum) return literal([...b.enum].sort()[0]);
  switch (b.type) {
    case 'integer':
    case 'real':
      return '0';
    case 'boolean':
      return 'false';
    case 'string':
      return "''";
    case 'uuid':
      return use('ZERO_UUID');
  }
}

function tsType(t: ColumnType): string {
  const kind = columnKind(t);
  if (kind === 'map' && t.value) return `Map<${atomType(t.key)}, ${atomType(t.value)}>`;
  if (kind === 'scalar') return atomType(t.key);
  return t.key.enum && t.key.enum.length > 1 ? `(${atomType(t.key)})[]` : `${atomType(t.key)}[]`;
}

function reader(table: string, col: string, t: ColumnType): string {
  const kind = columnKind(t);
  const at = `row, ${q(table)}, ${q(col)}`;
  const name = `${table}_${col}`.toUpperCase();
  if (kind === 'map' && t.value) return `${use('readMap')}(${at}, ${guard(t.key, `${name}_KEYS`)}, ${guard(t.value, `${name}_VALUES`)})`;
  if (kind === 'scalar') return `${use('readScalar')}(${at}, ${guard(t.key, name)}, ${defaultAtom(t.key)})`;
  return `${use('readSet')}(${at}, ${guard(t.key, name)})`;
}

function describeType(t: ColumnType): string {
  const b = (x: BaseType): string => {
    const parts: string[] = [x.type];
    if (x.refTable) parts.push(`-> ${x.refTable}${x.refType === 'weak' ? ' (weak)' : ''}`);
    if (x.minInteger !== undefined || x.maxInteger !== undefined) parts.push(`${x.minInteger ?? ''}..${x.maxInteger ?? ''}`);
    return parts.join(' ');
  };
  const kind = columnKind(t);
  if (kind === 'scalar') return b(t.key);
  const size = `${t.min}..${t.max === 'unlimited' ? '*' : t.max}`;
  return kind === 'map' && t.value ? `map ${b(t.key)} -> ${b(t.value)}, ${size}` : `set of ${b(t.key)}, ${size}`;
}

function emitTable(db: DatabaseSchema, name: string): string {
  const t = db.tables.get(name);
  if (!t) throw new Error(`failed to generate table "${name}": schema ${db.name} ${db.version} has no such table`);
  const type = typeName(name);
  const cols = [...t.columns.keys()].sort();
  const lines: string[] = [];
  lines.push(`/** Table "${name}" of ${db.name}. */`);
  lines.push(`export interface ${type} {`);
  lines.push('  _uuid: Uuid;');
  for (const c of cols) {
    const col = t.columns.get(c);
    if (col) lines.push(`  /** ${describeType(col.type)} */`, `  ${c}: ${tsType(col.type)};`);
  }
  lines.push('}', '');
  lines.push(`export const ${type}Table = {`);
  lines.push(`  database: ${q(db.name)},`);
  lines.push(`  name: ${q(name)},`);
  lines.push(`  columns: [${cols.map(q).join(', ')}],`);
  lines.push('} as const;', '');
  lines.push(`/** Reads a "${name}" row, checking every column's type. */`);
  lines.push(`export function ${lowerFirst(type)}FromRow(row: Row): ${type} {`);
  lines.push('  return {');
  lines.push('    _uuid: row._uuid,');
  for (const c of cols) {
    const col = t.columns.get(c);
    if (col) lines.push(`    ${c}: ${reader(name, c, col.type)},`);
  }
  lines.push('  };', '}', '');
  return lines.join('\n');
}

export interface GenerateInput {
  vswitchPath: string;
  nbPath: string;
  vswitch: DatabaseSchema;
  nb: DatabaseSchema;
}

export function generate(input: GenerateInput): string {
  const { vswitch, nb } = input;
  used = new Set<string>();
  enumGuards = new Map<string, string>();
  const body: string[] = [];
  body.push(`export const OPEN_VSWITCH_SCHEMA_VERSION = ${q(vswitch.version)};`);
  body.push(`export const OVN_NORTHBOUND_SCHEMA_VERSION = ${q(nb.version)};`, '');
  for (const name of VSWITCH_TABLES) body.push(emitTable(vswitch, name));
  for (const name of NB_TABLES) body.push(emitTable(nb, name));
  body.push(`export const GENERATED_TABLES = [${[...VSWITCH_TABLES, ...NB_TABLES].map((n) => `${typeName(n)}Table`).join(', ')}] as const;`, '');
  const head: string[] = [];
  head.push(`// GENERATED by scripts/gen-tables.ts from ${input.vswitchPath}, ${input.nbPath} (schema versions ${vswitch.version}/${nb.version}). Do not edit.`);
  head.push('// Regenerate: npx tsc -p tsconfig.json && node dist/scripts/gen-tables.js', '');
  head.push("import type { Uuid } from '../ovsdb/data';");
  head.push("import type { Row } from '../ovsdb/schema';");
  head.push(`import { ${[...used].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())).join(', ')} } from './row';`, '');
  for (const [name, code] of enumGuards) head.push(`const ${name} = ${code};`);
  if (enumGuards.size > 0) head.push('');
  return [...head, ...body].join('\n');
}

function loadSchema(file: string): DatabaseSchema {
  return parseDatabaseSchema(JSON.parse(readFileSync(file, 'utf8')));
}

function argValue(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  if (v === undefined) throw new Error(`${name} needs a value`);
  return v;
}

/** Returns the exit status. */
export function main(args: string[]): number {
  const vswitchPath = argValue(args, '--vswitch', DEFAULT_VSWITCH_SCHEMA);
  const nbPath = argValue(args, '--nb', DEFAULT_NB_SCHEMA);
  const outPath = argValue(args, '--out', DEFAULT_OUT);
  const text = generate({ vswitchPath, nbPath, vswitch: loadSchema(vswitchPath), nb: loadSchema(nbPath) });
  if (args.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(outPath, 'utf8');
    } catch {
      // A missing file differs like any other.
    }
    if (current !== text) {
      process.stderr.write(`${outPath} does not match the installed schemas; regenerate it: node dist/scripts/gen-tables.js\n`);
      return 1;
    }
    process.stdout.write(`${outPath} matches the installed schemas\n`);
    return 0;
  }
  writeFileSync(outPath, text);
  process.stdout.write(`wrote ${outPath}\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`gen-tables: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  }
}

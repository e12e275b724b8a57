// Reading `ovs-vsctl --format=json list TABLE` and `ovn-nbctl --format=json list TABLE` output in
// tests: {"headings": [...], "data": [[cell, ...], ...]} where each cell is an RFC 7047 value
// (atom, ["uuid", u], ["set", [...]], ["map", [[k, v], ...]]). Checked, never cast.

export type Row = ReadonlyMap<string, unknown>;

function isArray(v: unknown): v is unknown[] {
  return Array.isArray(v);
}

export function parseTable(text: string): Row[] {
  const doc: unknown = JSON.parse(text);
  if (typeof doc !== 'object' || doc === null || !('headings' in doc) || !('data' in doc)) {
    throw new Error(`failed to parse table: no headings/data in ${text.slice(0, 200)}`);
  }
  const headings: unknown = doc.headings;
  const data: unknown = doc.data;
  if (!isArray(headings) || !headings.every((h): h is string => typeof h === 'string') || !isArray(data)) {
    throw new Error('failed to parse table: headings or data has the wrong type');
  }
  return data.map((cells) => {
    if (!isArray(cells) || cells.length !== headings.length) {
      throw new Error('failed to parse table: a row does not match the headings');
    }
    return new Map(headings.map((h, i) => [h, cells[i]]));
  });
}

/** A string column (or a set of at most one string, as optional columns are encoded). */
export function stringCell(row: Row, column: string): string | undefined {
  const v = row.get(column);
  if (typeof v === 'string') return v;
  if (isArray(v) && v[0] === 'set' && isArray(v[1]) && v[1].length === 0) return undefined;
  if (isArray(v) && v[0] === 'uuid' && typeof v[1] === 'string') return v[1];
  throw new Error(`column ${column} is not a string: ${JSON.stringify(v)}`);
}

/** A set column of strings or uuids, as a plain list. */
export function setCell(row: Row, column: string): string[] {
  const v = row.get(column);
  const atom = (a: unknown): string => {
    if (typeof a === 'string') return a;
    if (isArray(a) && a[0] === 'uuid' && typeof a[1] === 'string') return a[1];
    throw new Error(`column ${column} holds a non-string atom: ${JSON.stringify(a)}`);
  };
  if (isArray(v) && v[0] === 'set' && isArray(v[1])) return v[1].map(atom);
  return [atom(v)];
}

/** A map column of string keys and values. */
export function mapCell(row: Row, column: string): Record<string, string> {
  const v = row.get(column);
  if (!isArray(v) || v[0] !== 'map' || !isArray(v[1])) {
    throw new Error(`column ${column} is not a map: ${JSON.stringify(v)}`);
  }
  const out: Record<string, string> = {};
  for (const pair of v[1]) {
    if (!isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new Error(`column ${column} holds a non-string pair: ${JSON.stringify(pair)}`);
    }
    out[pair[0]] = pair[1];
  }
  return out;
}

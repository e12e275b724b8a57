// `ovn-driver status`: asks the running daemon what it holds (GET /NetworkDriver.Database on the
// plugin socket, the same call `curl --unix-socket` can make) and prints it for a person.

import type { Writable } from 'node:stream';
import { getOverUnixSocket, UnixHttpError } from '../docker/client';
import { isObject } from '../util/json';

const STATUS_PATH = '/NetworkDriver.Database';

function scalar(v: unknown): string {
  if (typeof v === 'string') return v === '' ? '-' : v;
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  // A list of addresses and the like: space-separated, as ip(8) prints them.
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.length === 0 ? '-' : v.join(' ');
  return JSON.stringify(v);
}

function title(key: string): string {
  const spaced = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** One line per list item: `key: value, key: value`; nested objects in JSON. */
function itemLine(item: unknown): string {
  if (!isObject(item)) return scalar(item);
  return Object.entries(item).map(([k, v]) => `${k}: ${scalar(v)}`).join(', ');
}

function renderInto(lines: string[], value: unknown, indent: string): void {
  if (!isObject(value)) {
    lines.push(`${indent}${scalar(value)}`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (Array.isArray(v)) {
      lines.push(`${indent}${title(key)} (${v.length}):`);
      if (v.length === 0) lines.push(`${indent}  (none)`);
      for (const item of v) lines.push(`${indent}  - ${itemLine(item)}`);
    } else if (typeof v === 'object' && v !== null) {
      lines.push(`${indent}${title(key)}:`);
      renderInto(lines, v, `${indent}  `);
    } else {
      lines.push(`${indent}${title(key)}: ${scalar(v)}`);
    }
  }
}

/** The daemon's JSON, readable: sections for lists (connections, networks, endpoints), key: value. */
export function renderStatus(doc: unknown): string {
  const lines: string[] = [];
  renderInto(lines, doc, '');
  return `${lines.join('\n')}\n`;
}

export async function runStatus(socketPath: string, timeoutMs: number, out: Writable, err: Writable): Promise<number> {
  let body: string;
  try {
    const res = await getOverUnixSocket(socketPath, STATUS_PATH, timeoutMs);
    if (res.status !== 200) {
      err.write(`ovn-driver status: failed to read the daemon's state at "${socketPath}": HTTP ${res.status} ${res.body.slice(0, 200)}\n`);
      return 1;
    }
    body = res.body;
  } catch (e) {
    const why = e instanceof UnixHttpError ? e.message : String(e);
    err.write(`ovn-driver status: ${why}\nIs the daemon running? Check \`systemctl status ovn-driver\` and \`journalctl -u ovn-driver\`, or pass --socket.\n`);
    return 1;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    err.write(`ovn-driver status: failed to parse the daemon's reply from "${socketPath}": not JSON: ${body.slice(0, 200)}\n`);
    return 1;
  }
  out.write(renderStatus(doc));
  return 0;
}

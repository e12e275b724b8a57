// Remotes as OVS spells them ("unix:PATH", "tcp:HOST:PORT", "ssl:HOST:PORT", comma lists,
// IPv6 in brackets) and the one place that opens a stream to them.

import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';
import { Timers } from './backoff';
import { errorText, OvsdbError } from './errors';

export type Remote =
  | { readonly kind: 'unix'; readonly path: string; readonly text: string }
  | { readonly kind: 'tcp' | 'ssl'; readonly host: string; readonly port: number; readonly text: string };

/** TLS material as file paths, like ovs-vsctl --private-key/--certificate/--ca-cert. */
export interface TlsFiles {
  privateKey: string;
  certificate: string;
  caCert: string;
}

/** The port OVSDB clients use when a tcp/ssl remote names none (IANA "ovsdb"). */
export const DEFAULT_OVSDB_PORT = 6640;

function badRemote(text: string, why: string): OvsdbError {
  return new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to parse OVSDB remote "${text}": ${why}; use unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT`);
}

export function parseRemote(text: string): Remote {
  const t = text.trim();
  const colon = t.indexOf(':');
  const method = colon < 0 ? t : t.slice(0, colon);
  const rest = colon < 0 ? '' : t.slice(colon + 1);
  if (method === 'unix') {
    if (rest === '') throw badRemote(t, 'missing socket path');
    return { kind: 'unix', path: rest, text: t };
  }
  if (method === 'tcp' || method === 'ssl') {
    let host: string;
    let portText: string | undefined;
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) throw badRemote(t, 'unterminated "[" in IPv6 address');
      host = rest.slice(1, close);
      const after = rest.slice(close + 1);
      if (after !== '' && !after.startsWith(':')) throw badRemote(t, `unexpected "${after}" after "]"`);
      portText = after === '' ? undefined : after.slice(1);
      if (net.isIPv6(host) === false) throw badRemote(t, `"${host}" is not an IPv6 address`);
    } else {
      const parts = rest.split(':');
      if (parts.length > 2) throw badRemote(t, 'IPv6 addresses must be in brackets, as in tcp:[::1]:6641');
      host = parts[0] ?? '';
      portText = parts[1];
    }
    if (host === '') throw badRemote(t, 'missing host');
    let port = DEFAULT_OVSDB_PORT;
    if (portText !== undefined) {
      if (!/^[0-9]{1,5}$/.test(portText)) throw badRemote(t, `invalid port "${portText}"`);
      port = Number(portText);
      if (port < 1 || port > 65535) throw badRemote(t, `port ${port} out of range`);
    }
    return { kind: method, host, port, text: t };
  }
  if (method === 'punix' || method === 'ptcp' || method === 'pssl') throw badRemote(t, `"${method}" is a listening remote; a client needs an active one`);
  throw badRemote(t, `unknown connection method "${method}"`);
}

/** A comma-separated list of remotes, as ovn-nbctl --db takes for a clustered database. */
export function parseRemotes(text: string): Remote[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw badRemote(text, 'no remote given');
  return items.map(parseRemote);
}

export interface OpenOptions {
  tls?: TlsFiles;
  timeoutMs: number;
  timers: Timers;
}

interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  ca: Buffer;
}

async function readTls(remote: Remote, files: TlsFiles | undefined): Promise<TlsMaterial> {
  if (!files) throw new OvsdbError('OVSDB_NOT_SUPPORTED', `failed to connect to "${remote.text}": ssl needs a private key, certificate and CA certificate; pass them as TLS options`);
  // Read at each connect so that rotated certificates are picked up without a restart.
  try {
    const [key, cert, ca] = await Promise.all([fs.readFile(files.privateKey), fs.readFile(files.certificate), fs.readFile(files.caCert)]);
    return { key, cert, ca };
  } catch (cause) {
    throw new OvsdbError('OVSDB_IO_ERROR', `failed to read TLS files for "${remote.text}": ${errorText(cause)}`, { cause });
  }
}

/** Opens a connected stream to the remote, or fails with OVSDB_DISCONNECTED within timeoutMs. */
export async function openStream(remote: Remote, opts: OpenOptions): Promise<Duplex> {
  const material = remote.kind === 'ssl' ? await readTls(remote, opts.tls) : undefined;
  return new Promise<Duplex>((resolve, reject) => {
    let socket: net.Socket;
    let ready: string;
    if (remote.kind === 'unix') {
      socket = net.connect({ path: remote.path });
      ready = 'connect';
    } else if (remote.kind === 'tcp' || !material) {
      socket = net.connect({ host: remote.host, port: remote.port });
      ready = 'connect';
    } else {
      socket = tls.connect({
        host: remote.host,
        port: remote.port,
        key: material.key,
        cert: material.cert,
        ca: material.ca,
        // OVS checks that the peer's certificate chains to the CA but not the host name (its
        // certificates usually name a switch, not an address); do the same.
        checkServerIdentity: () => undefined,
      });
      ready = 'secureConnect';
    }
    const fail = (cause: unknown): void => {
      opts.timers.clearTimeout(timer);
      socket.destroy();
      reject(new OvsdbError('OVSDB_DISCONNECTED', `failed to connect to "${remote.text}": ${errorText(cause)}`, { cause }));
    };
    const timer = opts.timers.setTimeout(() => fail(new Error(`no connection within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    socket.once('error', fail);
    socket.once(ready, () => {
      opts.timers.clearTimeout(timer);
      socket.removeListener('error', fail);
      socket.setNoDelay?.(true);
      resolve(socket);
    });
  });
}

// The plugin socket's file: its directory must not be writable by other users (anyone could
// replace the socket Docker trusts), a stale file left by a dead daemon is replaced, a live one
// makes start-up fail, and the new socket is root-only (0600) or group-readable (0660).

import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { errorMessage } from '../util/error-message';

export class SocketError extends Error {
  readonly code = 'SOCKET_UNUSABLE';
}

function errnoCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  const code: unknown = e.code;
  return typeof code === 'string' ? code : undefined;
}

/** Connects to the path: true when a process answers, false on ECONNREFUSED/ENOENT. */
function isLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', (e: Error) => {
      const code = errnoCode(e);
      if (code === 'ECONNREFUSED' || code === 'ENOENT') resolve(false);
      else reject(e);
    });
  });
}

/** Makes the directory (0755) if needed, checks it, and removes a stale socket file. */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  const dir = path.dirname(socketPath);
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const st = await fs.stat(dir);
  if ((st.mode & 0o002) !== 0) {
    throw new SocketError(`failed to use plugin socket directory "${dir}": it is writable by other users, who could replace the socket Docker trusts; fix it with chmod o-w ${dir}`);
  }
  let existing;
  try {
    existing = await fs.lstat(socketPath);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  if (!existing.isSocket()) {
    throw new SocketError(`failed to create plugin socket "${socketPath}": a file that is not a socket is in the way; remove it if nothing needs it`);
  }
  let live: boolean;
  try {
    live = await isLive(socketPath);
  } catch (e) {
    throw new SocketError(`failed to check plugin socket "${socketPath}": ${errorMessage(e)}`);
  }
  if (live) {
    throw new SocketError(`failed to create plugin socket "${socketPath}": another process is serving it (is ovn-driver already running? systemctl status ovn-driver); stop it first or choose another --socket`);
  }
  // Left by a daemon that died without cleaning up.
  await fs.unlink(socketPath);
}

/** The gid of a group name, from /etc/group. */
async function groupId(name: string): Promise<number> {
  const text = await fs.readFile('/etc/group', 'utf8');
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  throw new SocketError(`failed to set the group of the plugin socket: there is no group "${name}" in /etc/group; create it or drop --socket-group`);
}

/** Root only (0600), or 0660 owned by `group`. */
export async function secureSocket(socketPath: string, group: string | undefined): Promise<void> {
  if (group === undefined) {
    await fs.chmod(socketPath, 0o600);
    return;
  }
  await fs.chown(socketPath, process.getuid?.() ?? 0, await groupId(group));
  await fs.chmod(socketPath, 0o660);
}

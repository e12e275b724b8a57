// CPU time of processes and of the machine, read from /proc, so a benchmark can say whose CPU a
// figure spent: the driver daemon's own, or OVN's (ovn-northd recomputing, the ovsdb-servers).

import { promises as fs } from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat times (100 on every Linux architecture we run on). */
const TICK_MS = 10;

/** The OVN and OVS daemons of the stack, by pid file. */
export const STACK_PIDFILES: Readonly<Record<string, string>> = {
  'ovn-northd': '/var/run/ovn/ovn-northd.pid',
  'NB ovsdb-server': '/var/run/ovn/ovnnb_db.pid',
  'SB ovsdb-server': '/var/run/ovn/ovnsb_db.pid',
  'ovn-controller': '/var/run/ovn/ovn-controller.pid',
  'ovs-vswitchd': '/var/run/openvswitch/ovs-vswitchd.pid',
  'local ovsdb-server': '/var/run/openvswitch/ovsdb-server.pid',
};

/** CPU time (user + system) a process has used so far, in ms; undefined once it is gone. */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ") ".
  const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) * TICK_MS : undefined;
}

/** The pids of the stack's daemons that are running now. */
export async function stackPids(): Promise<Map<string, number>> {
  const pids = new Map<string, number>();
  for (const [name, file] of Object.entries(STACK_PIDFILES)) {
    const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && (await processCpuMs(pid)) !== undefined) pids.set(name, pid);
  }
  return pids;
}

/** Busy and total CPU time of the whole machine so far (all cores), in ms. */
export async function machineCpuMs(): Promise<{ busy: number; total: number }> {
  const line = (await fs.readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
}

/** CPU used by each named process and by the machine between start() and stop(). */
export class CpuMeter {
  private before = new Map<string, number>();
  private machineBefore = { busy: 0, total: 0 };
  private startedAt = 0;

  constructor(private readonly pids: ReadonlyMap<string, number>) {}

  async start(): Promise<void> {
    this.before = await this.read();
    this.machineBefore = await machineCpuMs();
    this.startedAt = Date.now();
  }

  /** Per process: ms of CPU and % of one core over the interval; and the machine's busy %. */
  async stop(): Promise<{ wallMs: number; processes: Map<string, { ms: number; pct: number }>; machineBusyPct: number; cores: number }> {
    const wallMs = Date.now() - this.startedAt;
    const after = await this.read();
    const m = await machineCpuMs();
    const processes = new Map<string, { ms: number; pct: number }>();
    for (const [name, ms] of after) {
      const used = ms - (this.before.get(name) ?? ms);
      processes.set(name, { ms: used, pct: wallMs > 0 ? (100 * used) / wallMs : 0 });
    }
    const total = m.total - this.machineBefore.total;
    const cores = wallMs > 0 ? Math.round(total / wallMs) : 0;
    return { wallMs, processes, machineBusyPct: total > 0 ? (100 * (m.busy - this.machineBefore.busy)) / total : 0, cores };
  }

  private async read(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [name, pid] of this.pids) {
      const ms = await processCpuMs(pid);
      if (ms !== undefined) out.set(name, ms);
    }
    return out;
  }
}

/**
 * Resolves once the named processes have used no CPU for `quietMs` (OVN has finished reacting
 * to the last change), or after `maxMs`; returns how long it waited.
 */
export async function settle(pids: ReadonlyMap<string, number>, quietMs = 100, maxMs = 60_000): Promise<number> {
  const started = Date.now();
  const sum = async (): Promise<number> => {
    let s = 0;
    for (const pid of pids.values()) s += (await processCpuMs(pid)) ?? 0;
    return s;
  };
  let last = await sum();
  let quietSince = Date.now();
  while (Date.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = await sum();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) {
      break;
    }
  }
  return Date.now() - started;
}

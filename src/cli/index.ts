// The subcommands besides the daemon. main.ts parses the config, and for `status`, `doctor` or `ipam-reclaim`
// calls runCommand and exits with the code it returns.

import type { Writable } from 'node:stream';
import type { Config } from '../config';
import type { Logger } from '../util/logger';
import { runDoctor } from './doctor';
import { runReclaim } from './reclaim';
import { runStatus } from './status';

export { runDoctor, runChecks, renderChecks } from './doctor';
export type { CheckResult, DoctorOptions } from './doctor';
export { runStatus, renderStatus } from './status';
export { runReclaim, renderReclaim } from './reclaim';

export async function runCommand(
  config: Config,
  command: 'status' | 'doctor' | 'ipam-reclaim',
  logger: Logger,
  io: { out: Writable; err: Writable } = { out: process.stdout, err: process.stderr },
): Promise<number> {
  logger.debug('running command', { command });
  switch (command) {
    case 'status':
      return runStatus(config.socketPath, Math.min(config.dbTimeoutMs, 10000), io.out, io.err);
    case 'doctor':
      return runDoctor(config, io.out);
    case 'ipam-reclaim':
      return runReclaim(config, io.out, io.err, logger);
  }
}

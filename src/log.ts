// Logging set-up (winston). Lower layers only see the four-method Logger interface.
// Under systemd each stdout line starts with a syslog priority ("<3>" error ... "<7>" debug), which
// journald turns into the entry's level; elsewhere lines are human-readable with a timestamp.
// An optional log file is reopened by reopen() (main.ts calls it on SIGHUP, which logrotate's
// postrotate sends), so rotation needs no copytruncate.

import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import * as winston from 'winston';
import type { LogLevel } from './config';
import { errorMessage, errorMessageWithCode } from './util/error-message';
import { isObject } from './util/json';
import type { Logger } from './util/logger';

export interface DaemonLogger extends Logger {
  /** Reopens the log file by its path (after logrotate renamed it); no-op without a file. */
  reopen(): void;
  /** Flushes and closes the file; stdout is left open. */
  close(): Promise<void>;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Also append to this file, created with mode 0640 if missing. */
  file?: string;
  /** Log to stdout (or to `stdoutStream`). */
  stdout: boolean;
  /** Syslog priority prefixes for journald; default: detected from JOURNAL_STREAM/INVOCATION_ID. */
  journal?: boolean;
  /** Where "stdout" lines go; tests pass their own stream. */
  stdoutStream?: Writable;
  env?: NodeJS.ProcessEnv;
}

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const SYSLOG_PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const MESSAGE = Symbol.for('message'); // triple-beam's MESSAGE: the text transports write

export class LogFileError extends Error {
  readonly code = 'LOG_FILE_OPEN_FAILED';
  constructor(file: string, readonly cause: unknown) {
    super(`failed to open log file "${file}": ${errorMessage(cause)}; create its directory or choose another --log-file`);
    this.name = 'LogFileError';
  }
}

/** True when systemd started us with stdout connected to the journal. */
export function underSystemd(env: NodeJS.ProcessEnv): boolean {
  return (env['JOURNAL_STREAM'] ?? '') !== '' || (env['INVOCATION_ID'] ?? '') !== '';
}

// Key material must never reach a log, whatever a caller passes in.
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g;
function redact(text: string): string {
  return text.replace(PEM_KEY, '[private key redacted]');
}

function renderValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(errorMessageWithCode(v));
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x instanceof Map ? Object.fromEntries(x) : x));
  } catch {
    return '"[unserializable]"';
  }
}

/** `message key=value key2="two words"`, one line (newlines escaped), no key material. */
export function renderLine(msg: string, meta: Record<string, unknown> | undefined): string {
  const pairs = meta === undefined ? [] : Object.entries(meta).map(([k, v]) => `${k}=${renderValue(v)}`);
  const line = pairs.length === 0 ? msg : `${msg} ${pairs.join(' ')}`;
  return redact(line).replace(/\r?\n/g, '\\n');
}

function levelOf(info: winston.Logform.TransformableInfo): LogLevel {
  const l = info.level;
  return l === 'error' || l === 'warn' || l === 'info' || l === 'debug' ? l : 'info';
}

function metaOf(info: winston.Logform.TransformableInfo): Record<string, unknown> | undefined {
  const m: unknown = info['meta'];
  return isObject(m) ? Object.fromEntries(Object.entries(m)) : undefined;
}

function textOf(info: winston.Logform.TransformableInfo): string {
  return renderLine(typeof info.message === 'string' ? info.message : String(info.message), metaOf(info));
}

const journalFormat = winston.format((info) => {
  info[MESSAGE] = `<${SYSLOG_PRIORITY[levelOf(info)]}>${textOf(info)}`;
  return info;
});

const humanFormat = winston.format((info) => {
  info[MESSAGE] = `${new Date().toISOString()} ${levelOf(info).padEnd(5)} ${textOf(info)}`;
  return info;
});

function openFileStream(file: string): fs.WriteStream {
  let fd: number;
  try {
    // Opened synchronously so a bad path fails start-up (or reopen) here, not as a stray event.
    fd = fs.openSync(file, 'a', 0o640);
  } catch (err) {
    throw new LogFileError(file, err);
  }
  const stream = fs.createWriteStream(file, { fd, flags: 'a' });
  // A full disk must not take the daemon down; stdout still carries every line.
  stream.on('error', () => undefined);
  return stream;
}

function endStream(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableFinished) return resolve();
    stream.once('error', () => resolve());
    stream.end(() => resolve());
  });
}

export function createLogger(opts: LoggerOptions): DaemonLogger {
  const env = opts.env ?? process.env;
  const journal = opts.journal ?? underSystemd(env);
  const w = winston.createLogger({ levels: LEVELS, level: opts.level, exitOnError: false });
  if (opts.stdout) {
    const out = opts.stdoutStream ?? process.stdout;
    // A closed stdout (EPIPE when journald restarts or a pipe reader exits) must not crash us.
    out.on('error', () => undefined);
    w.add(new winston.transports.Stream({ stream: out, format: journal ? journalFormat() : humanFormat(), eol: '\n' }));
  }
  let file: { stream: fs.WriteStream; transport: winston.transport } | undefined;
  const attachFile = (path: string): void => {
    const stream = openFileStream(path);
    const transport = new winston.transports.Stream({ stream, format: humanFormat(), eol: '\n' });
    const old = file;
    w.add(transport);
    file = { stream, transport };
    if (old) {
      // Lines already handed to the old transport still go to the old (renamed) file.
      w.remove(old.transport);
      old.transport.end(() => void endStream(old.stream));
    }
  };
  if (opts.file !== undefined) attachFile(opts.file);

  // Lines below the level are dropped here: winston would push each through its streams first.
  const log = (level: LogLevel) => (msg: string, meta?: Record<string, unknown>): void => {
    if (LEVELS[level] > LEVELS[opts.level]) return;
    w.log({ level, message: msg, meta });
  };
  return {
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    reopen(): void {
      if (opts.file === undefined) return;
      try {
        attachFile(opts.file);
      } catch (err) {
        w.log({ level: 'error', message: 'failed to reopen log file; still writing to the old one', meta: { file: opts.file, err } });
      }
    },
    async close(): Promise<void> {
      const current = file;
      file = undefined;
      await new Promise<void>((resolve) => {
        if (current === undefined) return resolve();
        current.transport.once('finish', () => resolve());
        w.remove(current.transport);
        current.transport.end();
      });
      if (current) await endStream(current.stream);
      w.close();
    },
  };
}

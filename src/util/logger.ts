// The one Logger interface every layer logs through. A leaf: it imports nothing, so the ovsdb and
// netlink layers (which may import only node:* and netlink) can name it too. The daemon's winston
// logger (src/log.ts) implements it; tests pass their own.

export interface Logger {
  error(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  debug(msg: string, meta?: Record<string, unknown>): void;
}

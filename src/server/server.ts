// buildServer(): the Fastify routes of the libnetwork remote driver API. No listen() here: main
// binds it to the plugin socket, tests call inject(). One route per call; any other path is 404
// (what libnetwork reads as "not implemented"); failures answer {"Err": "..."}.

import fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { driverCalls, DriverApi } from '../driver/calls';
import { isObject } from '../driver/fields';
import { registerBodyParser } from './body';
import { errorReply } from './errors';

export interface ServerLogger {
  error(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  debug(msg: string, meta?: Record<string, unknown>): void;
}

export interface ServerOptions {
  readonly driver: DriverApi;
  readonly logger: ServerLogger;
  /** Largest request body accepted, in bytes (default 1 MiB); larger ones get 413. */
  readonly bodyLimit?: number;
  /** Milliseconds, for the request log; Date.now by default. */
  readonly now?: () => number;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';

/** Ids from a request body, for the log line (bounded: the body may be hostile). */
function ids(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(body)) return out;
  for (const [k, name] of [['NetworkID', 'networkId'], ['EndpointID', 'endpointId']] as const) {
    const v = body[k];
    if (typeof v === 'string') out[name] = v.slice(0, 64);
  }
  return out;
}

export function buildServer(opts: ServerOptions): FastifyInstance {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  const app = fastify({ logger: false, bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT, return503OnClosing: true });
  registerBodyParser(app);

  const fail = (reply: FastifyReply, call: string, e: unknown, meta: Record<string, unknown>): FastifyReply => {
    const r = errorReply(e, call);
    logger.error(`${call} failed: ${r.body.Err}`, { ...meta, code: r.code, status: r.status });
    return reply.code(r.status).type(CONTENT_TYPE).send(r.body);
  };

  for (const [call, run] of driverCalls(opts.driver)) {
    app.post(`/${call}`, async (req: FastifyRequest, reply: FastifyReply) => {
      const started = now();
      // No body at all (Docker's Activate and GetCapabilities) reads as {}, like an empty one.
      const body: unknown = req.body === undefined ? {} : req.body;
      const meta = ids(body);
      try {
        const result = await run(body);
        if (result.headers) for (const [k, v] of Object.entries(result.headers)) reply.header(k, v);
        logger.debug(`${call}`, { ...meta, ms: now() - started });
        return reply.code(200).type(CONTENT_TYPE).send(result.body);
      } catch (e) {
        return fail(reply, call, e, { ...meta, ms: now() - started });
      }
    });
  }

  // The old NetworkDriver.Database debug call: what the driver holds, read-only.
  app.get('/NetworkDriver.Database', async (_req, reply) => reply.type('application/json').send(opts.driver.describe()));

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type(CONTENT_TYPE).send({ Err: `${req.method} ${req.url.slice(0, 200)} is not a call of the ovn network driver` });
  });
  // Errors before a handler runs: bad JSON, wrong media type, body too large.
  app.setErrorHandler((e, req, reply) => {
    void fail(reply, req.url.replace(/^\//, '').slice(0, 100), e, {});
  });
  return app;
}

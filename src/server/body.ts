// Request bodies as Docker sends them: no Content-Type at all (Docker 20.10), or
// application/json, or application/vnd.docker.plugins.v1.x+json; an empty body reads as {}.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DriverError } from '../driver/errors';
import { errorMessage } from '../util/error-message';

const ACCEPTED = /^application\/(json|vnd\.docker\.plugins\.v1(\.[0-9]+)?\+json)$/;

export class MediaTypeError extends Error {
  readonly code = 'FST_ERR_CTP_INVALID_MEDIA_TYPE';
}

export function acceptedContentType(header: string | undefined): boolean {
  if (header === undefined) return true;
  const type = (header.split(';')[0] ?? '').trim().toLowerCase();
  return ACCEPTED.test(type);
}

/** Parses `raw` as one JSON value; empty means {}. */
export function parseJsonBody(raw: Buffer, call: string): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = errorMessage(e);
    throw new DriverError('INVALID_REQUEST', `failed to parse ${call} request: the body is not valid JSON (${why})`);
  }
}

/** Replaces fastify's parsers with one that takes every accepted type (and none). */
export function registerBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req: FastifyRequest, body: Buffer | string, done: (err: Error | null, body?: unknown) => void) => {
    const call = req.url.replace(/^\//, '');
    if (!acceptedContentType(req.headers['content-type'])) {
      done(new MediaTypeError(`unsupported Content-Type ${req.headers['content-type'] ?? ''}`));
      return;
    }
    try {
      done(null, parseJsonBody(typeof body === 'string' ? Buffer.from(body) : body, call));
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

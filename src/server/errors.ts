// Errors as libnetwork's plugin client reads them: a non-200 status and {"Err": "..."}. Docker
// prints the Err text (prefixed by the call name), so it says what failed and what to do.
// Never 404 for a failure: libnetwork reads 404 as "this plugin does not implement the call".

import { isDriverError, DriverErrorCode } from '../driver/errors';
import { errorMessage } from '../util/error-message';

const STATUS: Record<DriverErrorCode, number> = {
  INVALID_REQUEST: 400,
  NOT_FOUND: 400,
  CONFLICT: 409,
  NOT_SUPPORTED: 501,
  DATABASE_UNAVAILABLE: 503,
  OUTCOME_UNKNOWN: 503,
  HOST_NOT_READY: 503,
  DATABASE_ERROR: 500,
  LINK_ERROR: 500,
  INTERNAL: 500,
};

export interface ErrorReply {
  readonly status: number;
  readonly code: string;
  readonly body: { Err: string };
}

function fastifyCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  const code: unknown = e.code;
  return typeof code === 'string' ? code : undefined;
}

/** The answer for anything a handler or fastify threw. */
export function errorReply(e: unknown, call: string): ErrorReply {
  if (isDriverError(e)) return { status: STATUS[e.code], code: e.code, body: { Err: e.message } };
  const code = fastifyCode(e) ?? 'INTERNAL';
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code, body: { Err: `failed to read ${call} request: the body is larger than the driver accepts; Docker never sends such requests` } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code, body: { Err: `failed to read ${call} request: unsupported Content-Type; send none, application/json or application/vnd.docker.plugins.v1.x+json` } };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code, body: { Err: `failed to read ${call} request: the body is shorter or longer than its Content-Length` } };
    default: {
      const msg = errorMessage(e);
      return { status: 500, code: 'INTERNAL', body: { Err: `failed to handle ${call}: ${msg}; this is a bug in ovn-driver, please report it with the daemon's log` } };
    }
  }
}

// Typed errors of the driver. `code` is stable (the server maps it to an HTTP status and tests
// branch on it); the message follows `failed to <verb> <object> "name": <cause>` and, where a
// person can do something about it, says what.

export type DriverErrorCode =
  | 'INVALID_REQUEST' // the request itself is wrong: a field is missing, mistyped or out of range
  | 'NOT_FOUND' // the network or endpoint named by the request does not exist
  | 'CONFLICT' // the name is taken by something else (another tool's switch, other parameters)
  | 'NOT_SUPPORTED' // a call a local-scope driver does not implement (AllocateNetwork, FreeNetwork)
  | 'DATABASE_UNAVAILABLE' // a database could not be reached within the timeout; nothing was sent, nothing changed
  | 'OUTCOME_UNKNOWN' // a transaction was sent but its reply never came: it may or may not have been applied
  | 'DATABASE_ERROR' // a database refused or failed a transaction
  | 'LINK_ERROR' // a kernel link operation failed
  | 'HOST_NOT_READY' // this host lacks a prerequisite: the integration bridge, its chassis id
  | 'INTERNAL'; // a bug: anything else

export class DriverError extends Error {
  readonly code: DriverErrorCode;
  readonly cause?: unknown;

  constructor(code: DriverErrorCode, message: string, cause?: unknown) {
    super(message);
    this.name = 'DriverError';
    this.code = code;
    if (cause !== undefined) this.cause = cause;
  }
}

export function isDriverError(e: unknown, code?: DriverErrorCode): e is DriverError {
  return e instanceof DriverError && (code === undefined || e.code === code);
}

/** The message of any thrown value. */
export { errorMessage } from '../util/error-message';

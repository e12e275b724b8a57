// Typed errors of the OVSDB client. `code` is stable: callers branch on it, never on messages.

import type { Operation } from './operations';

export type OvsdbErrorCode =
  | 'OVSDB_TRANSACTION_FAILED' // an operation error whose RFC string we do not know
  | 'OVSDB_CONSTRAINT_VIOLATION'
  | 'OVSDB_REFERENTIAL_INTEGRITY'
  | 'OVSDB_RESOURCES_EXHAUSTED'
  | 'OVSDB_IO_ERROR'
  | 'OVSDB_DUPLICATE_UUID_NAME'
  | 'OVSDB_DOMAIN_ERROR'
  | 'OVSDB_RANGE_ERROR'
  | 'OVSDB_TIMED_OUT' // RFC "timed out", from a "wait" operation
  | 'OVSDB_NOT_SUPPORTED'
  | 'OVSDB_ABORTED'
  | 'OVSDB_NOT_OWNER'
  | 'OVSDB_RPC_ERROR' // a JSON-RPC error reply
  | 'OVSDB_PROTOCOL' // malformed input, garbage, or an unknown reply id from the server
  | 'OVSDB_FRAME_TOO_LARGE'
  | 'OVSDB_DISCONNECTED'
  | 'OVSDB_REQUEST_TIMEOUT'
  | 'OVSDB_UNKNOWN_OUTCOME' // a transact sent whose reply was lost: it may or may not have committed
  | 'OVSDB_NOT_LEADER'
  | 'OVSDB_SCHEMA'
  | 'OVSDB_CLOSED';

export const OVSDB_ERROR_CODES: readonly OvsdbErrorCode[] = Object.freeze([
  'OVSDB_TRANSACTION_FAILED', 'OVSDB_CONSTRAINT_VIOLATION', 'OVSDB_REFERENTIAL_INTEGRITY',
  'OVSDB_RESOURCES_EXHAUSTED', 'OVSDB_IO_ERROR', 'OVSDB_DUPLICATE_UUID_NAME', 'OVSDB_DOMAIN_ERROR',
  'OVSDB_RANGE_ERROR', 'OVSDB_TIMED_OUT', 'OVSDB_NOT_SUPPORTED', 'OVSDB_ABORTED', 'OVSDB_NOT_OWNER',
  'OVSDB_RPC_ERROR', 'OVSDB_PROTOCOL', 'OVSDB_FRAME_TOO_LARGE', 'OVSDB_DISCONNECTED',
  'OVSDB_REQUEST_TIMEOUT', 'OVSDB_UNKNOWN_OUTCOME', 'OVSDB_NOT_LEADER', 'OVSDB_SCHEMA', 'OVSDB_CLOSED',
] as const);

export interface OvsdbErrorOptions {
  rfcError?: string;
  details?: string;
  operation?: Operation;
  operationIndex?: number;
  cause?: unknown;
}

export class OvsdbError extends Error {
  readonly code: OvsdbErrorCode;
  /** The RFC 7047 "error" string, for operation and JSON-RPC errors. */
  readonly rfcError?: string;
  /** The server's optional "details" text. */
  readonly details?: string;
  /** The operation that failed, and its index in the transaction. */
  readonly operation?: Operation;
  readonly operationIndex?: number;
  // Declared here because lib ES2021 has no Error.cause (Node 16.20 has it at runtime).
  readonly cause?: unknown;

  constructor(code: OvsdbErrorCode, message: string, opts: OvsdbErrorOptions = {}) {
    super(message);
    this.name = 'OvsdbError';
    this.code = code;
    if (opts.rfcError !== undefined) this.rfcError = opts.rfcError;
    if (opts.details !== undefined) this.details = opts.details;
    if (opts.operation !== undefined) this.operation = opts.operation;
    if (opts.operationIndex !== undefined) this.operationIndex = opts.operationIndex;
    if (opts.cause !== undefined) this.cause = opts.cause;
  }
}

export function isOvsdbError(e: unknown, code?: OvsdbErrorCode): e is OvsdbError {
  return e instanceof OvsdbError && (code === undefined || e.code === code);
}

/** RFC 7047 4.1.3 / 5.2 error strings and the codes they become. */
const RFC_ERRORS: ReadonlyMap<string, OvsdbErrorCode> = new Map<string, OvsdbErrorCode>([
  ['constraint violation', 'OVSDB_CONSTRAINT_VIOLATION'],
  ['referential integrity violation', 'OVSDB_REFERENTIAL_INTEGRITY'],
  ['resources exhausted', 'OVSDB_RESOURCES_EXHAUSTED'],
  ['I/O error', 'OVSDB_IO_ERROR'],
  ['duplicate uuid-name', 'OVSDB_DUPLICATE_UUID_NAME'],
  ['domain error', 'OVSDB_DOMAIN_ERROR'],
  ['range error', 'OVSDB_RANGE_ERROR'],
  ['timed out', 'OVSDB_TIMED_OUT'],
  ['not supported', 'OVSDB_NOT_SUPPORTED'],
  ['aborted', 'OVSDB_ABORTED'],
  ['not owner', 'OVSDB_NOT_OWNER'],
]);

/** The code for an RFC error string; unknown strings are a generic transaction failure. */
export function codeForRfcError(rfcError: string): OvsdbErrorCode {
  return RFC_ERRORS.get(rfcError) ?? 'OVSDB_TRANSACTION_FAILED';
}

/** The message of any thrown value, for "...: <cause>" texts (the one definition, under this layer's name). */
export { errorMessage as errorText } from '../util/error-message';

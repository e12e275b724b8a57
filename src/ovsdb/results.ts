// RFC 7047 section 4.1.3: checking a "transact" result. Each operation gets one result; the
// first failing one becomes a typed error carrying that operation and its index, and when
// every operation succeeded but the commit failed the server appends one extra error.

import { decodeAtom, decodeRow, describe, Uuid, Value } from './data';
import { codeForRfcError, errorText, OvsdbError } from './errors';
import type { Operation } from './operations';
import { isObject } from '../util/json';

export interface OperationResult {
  /** insert: the new row's UUID. */
  uuid?: Uuid;
  /** select: the rows, decoded (not normalised: select may name any columns). */
  rows?: Record<string, Value>[];
  /** update, mutate, delete: how many rows matched. */
  count?: number;
}

function protocol(why: string): OvsdbError {
  return new OvsdbError('OVSDB_PROTOCOL', `failed to check transaction result: ${why}`);
}

/** What an operation did, for messages: `insert into table "Logical_Switch"`. */
export function describeOperation(op: Operation): string {
  switch (op.op) {
    case 'insert':
      return `insert into table "${op.table}"`;
    case 'select':
    case 'update':
    case 'mutate':
    case 'wait':
      return `${op.op} table "${op.table}"`;
    case 'delete':
      return `delete from table "${op.table}"`;
    case 'commit':
      return 'commit';
    case 'abort':
      return 'abort';
    case 'comment':
      return 'comment';
    case 'assert':
      return `assert lock "${op.lock}"`;
  }
}

function operationError(op: Operation | undefined, index: number, e: Record<string, unknown>): OvsdbError {
  const rfcError = e.error;
  if (typeof rfcError !== 'string') throw protocol(`result ${index} has a non-string "error": ${describe(rfcError)}`);
  const details = typeof e.details === 'string' ? e.details : undefined;
  const what = op ? `${describeOperation(op)} (operation ${index})` : 'commit the transaction';
  return new OvsdbError(codeForRfcError(rfcError), `failed to ${what}: ${rfcError}${details ? `: ${details}` : ''}`, {
    rfcError,
    details,
    operation: op,
    operationIndex: index,
  });
}

function successResult(op: Operation, index: number, r: Record<string, unknown>): OperationResult {
  switch (op.op) {
    case 'insert': {
      let id: unknown;
      try {
        id = decodeAtom(r.uuid);
      } catch (e) {
        throw protocol(`insert result ${index} has no valid "uuid": ${errorText(e)}`);
      }
      if (!(id instanceof Uuid)) throw protocol(`insert result ${index} has "uuid" ${describe(r.uuid)}`);
      return { uuid: id };
    }
    case 'select': {
      if (!Array.isArray(r.rows)) throw protocol(`select result ${index} has no "rows" array: ${describe(r)}`);
      try {
        return { rows: r.rows.map((row) => decodeRow(row)) };
      } catch (e) {
        throw protocol(`select result ${index}: ${errorText(e)}`);
      }
    }
    case 'update':
    case 'mutate':
    case 'delete': {
      const n = r.count;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw protocol(`${op.op} result ${index} has "count" ${describe(n)}`);
      return { count: n };
    }
    default:
      return {};
  }
}

/**
 * Checks the "result" of a transact of `ops`; returns one OperationResult per operation.
 * Throws the first operation's error (code from its RFC error string), the commit error, or
 * OVSDB_PROTOCOL when the result does not have the shape RFC 7047 gives it.
 */
export function checkTransactResult(ops: Operation[], result: unknown): OperationResult[] {
  if (!Array.isArray(result)) throw protocol(`expected an array, got ${describe(result)}`);
  if (result.length !== ops.length && result.length !== ops.length + 1) {
    throw protocol(`${ops.length} operations but ${result.length} results`);
  }
  const out: OperationResult[] = [];
  for (let i = 0; i < ops.length; i++) {
    const r: unknown = result[i];
    // null = "not attempted because a prior operation failed": only valid after an error.
    if (r === null) throw protocol(`result ${i} is null but no earlier operation failed`);
    if (!isObject(r)) throw protocol(`result ${i} is not an object: ${describe(r)}`);
    if ('error' in r) throw operationError(ops[i], i, r);
    out.push(successResult(ops[i], i, r));
  }
  if (result.length > ops.length) {
    const extra: unknown = result[ops.length];
    if (!isObject(extra) || !('error' in extra)) throw protocol(`the extra result is not an error: ${describe(extra)}`);
    throw operationError(undefined, ops.length, extra);
  }
  return out;
}

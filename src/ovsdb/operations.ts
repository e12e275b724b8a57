// RFC 7047 section 5.2: database operations, built as plain data and run separately, so a
// whole Docker request can become one "transact" call and the mapping is testable without
// a server. Every builder returns a JSON-ready object in wire notation.

import { Atom, encodeRow, encodeValue, isId, Value, WireRow, WireValue } from './data';

export type Function = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
export type WireCondition = [string, Function, WireValue];
export type WireMutation = [string, Mutator, WireValue];

export interface InsertOp { op: 'insert'; table: string; row: WireRow; 'uuid-name'?: string; uuid?: string }
export interface SelectOp { op: 'select'; table: string; where: WireCondition[]; columns?: string[] }
export interface UpdateOp { op: 'update'; table: string; where: WireCondition[]; row: WireRow }
export interface MutateOp { op: 'mutate'; table: string; where: WireCondition[]; mutations: WireMutation[] }
export interface DeleteOp { op: 'delete'; table: string; where: WireCondition[] }
export interface WaitOp {
  op: 'wait'; table: string; where: WireCondition[]; columns: string[];
  until: '==' | '!='; rows: WireRow[]; timeout?: number;
}
export interface CommitOp { op: 'commit'; durable: boolean }
export interface AbortOp { op: 'abort' }
export interface CommentOp { op: 'comment'; comment: string }
export interface AssertOp { op: 'assert'; lock: string }

export type Operation =
  | InsertOp | SelectOp | UpdateOp | MutateOp | DeleteOp | WaitOp | CommitOp | AbortOp | CommentOp | AssertOp;

/** A condition: [column, function, value]. */
export type Condition = [string, Function, Value];
/** A mutation: [column, mutator, value]. */
export type Mutation = [string, Mutator, Value];

function encodeWhere(where: readonly Condition[]): WireCondition[] {
  return where.map(([c, f, v]) => [c, f, encodeValue(v)]);
}

export function insert(table: string, row: Record<string, Value>, uuidName?: string): InsertOp {
  const op: InsertOp = { op: 'insert', table, row: encodeRow(row) };
  if (uuidName !== undefined) {
    if (!isId(uuidName)) throw new TypeError(`invalid uuid-name ${JSON.stringify(uuidName)}`);
    op['uuid-name'] = uuidName;
  }
  return op;
}

export function select(table: string, where: readonly Condition[], columns?: string[]): SelectOp {
  const op: SelectOp = { op: 'select', table, where: encodeWhere(where) };
  if (columns) op.columns = [...columns];
  return op;
}

export function update(table: string, where: readonly Condition[], row: Record<string, Value>): UpdateOp {
  return { op: 'update', table, where: encodeWhere(where), row: encodeRow(row) };
}

export function mutate(table: string, where: readonly Condition[], mutations: readonly Mutation[]): MutateOp {
  return { op: 'mutate', table, where: encodeWhere(where), mutations: mutations.map(([c, m, v]) => [c, m, encodeValue(v)]) };
}

export function del(table: string, where: readonly Condition[]): DeleteOp {
  return { op: 'delete', table, where: encodeWhere(where) };
}

export function wait(
  table: string,
  where: readonly Condition[],
  columns: string[],
  until: '==' | '!=',
  rows: Record<string, Value>[],
  timeout?: number,
): WaitOp {
  const op: WaitOp = { op: 'wait', table, where: encodeWhere(where), columns: [...columns], until, rows: rows.map(encodeRow) };
  if (timeout !== undefined) op.timeout = timeout;
  return op;
}

export function commit(durable: boolean): CommitOp {
  return { op: 'commit', durable };
}

export function abort(): AbortOp {
  return { op: 'abort' };
}

export function comment(text: string): CommentOp {
  return { op: 'comment', comment: text };
}

export function assertLock(lock: string): AssertOp {
  return { op: 'assert', lock };
}

/** Condition helpers: `where('name', '==', 'x')` reads like the RFC. */
export function cond(column: string, fn: Function, value: Value): Condition {
  return [column, fn, value];
}

/** A map value with string keys and values, the shape of every external_ids column. */
export function strMap(obj: Record<string, string>): Map<Atom, Atom> {
  return new Map(Object.entries(obj));
}

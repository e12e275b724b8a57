// The public API of the OVSDB client (RFC 7047). Internals (row-update, framer state) stay private.

export * from './data';
export * from './operations';
export * from './errors';
export { JsonFramer, DEFAULT_MAX_MESSAGE_BYTES } from './framer';
export type { JsonFramerOptions } from './framer';
export { RpcSession } from './jsonrpc';
export type { PendingRequest, RequestOptions, RpcSessionOptions } from './jsonrpc';
export { checkTransactResult, describeOperation } from './results';
export type { OperationResult } from './results';
export { columnKind, hasColumn, normalizeRow, parseDatabaseSchema } from './schema';
export type { AtomicType, BaseType, ColumnKind, ColumnSchema, ColumnType, DatabaseSchema, Row, TableSchema } from './schema';
export { Backoff, systemTimers } from './backoff';
export type { BackoffOptions, TimerHandle, Timers } from './backoff';
export { parseRemote, parseRemotes, DEFAULT_OVSDB_PORT } from './transport';
export type { Remote, TlsFiles } from './transport';
export { OvsdbClient } from './client';
export type { ClientOptions, ClientState, RequestOpts, TransactOpts } from './client';
export { Replica } from './replica';
export { encodeConditions } from './monitor';
export type { MonitorCondition, MonitorRequest, TableMonitor, WireConditions } from './monitor';
export type { IndexKey, RowChange } from './replica';

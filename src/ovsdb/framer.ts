// RFC 7047 sends JSON values back to back with no delimiter. This push parser finds where each
// top-level object ends by tracking string/escape state and bracket depth byte by byte, then
// hands the complete bytes to JSON.parse. It never touches a socket.
//
// Bytes stay Buffers until a value is complete, so a UTF-8 character split across chunks is
// decoded whole; scanning bytes is safe because every byte of a multi-byte UTF-8 sequence is
// >= 0x80 and never looks like a quote, backslash or bracket. Each byte is scanned once
// (no rescans when a large value arrives in many chunks), and a value is capped at
// maxMessageBytes while it is still buffering.

import { errorText, OvsdbError } from './errors';

export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

export interface JsonFramerOptions {
  /** The largest single JSON value accepted, in bytes. */
  maxMessageBytes: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export class JsonFramer {
  private readonly maxMessageBytes: number;
  // The current value's earlier chunks (the current chunk is sliced when the value ends).
  private parts: Buffer[] = [];
  private size = 0; // bytes of the current value buffered in `parts`
  private depth = 0; // 0 = between values
  private inString = false;
  private escaped = false;
  private failure: OvsdbError | undefined;

  constructor(opts: JsonFramerOptions) {
    if (!Number.isInteger(opts.maxMessageBytes) || opts.maxMessageBytes < 2) {
      throw new RangeError(`maxMessageBytes must be an integer >= 2, got ${opts.maxMessageBytes}`);
    }
    this.maxMessageBytes = opts.maxMessageBytes;
  }

  /**
   * Feeds one chunk; returns the values it completed, in order. Throws OVSDB_PROTOCOL on bytes
   * that cannot start a JSON-RPC message or do not parse, OVSDB_FRAME_TOO_LARGE on a value over
   * the limit. After a throw the stream is unusable: every later push throws the same error
   * until reset().
   */
  push(chunk: Buffer): unknown[] {
    if (this.failure) throw this.failure;
    try {
      return this.scan(chunk);
    } catch (e) {
      this.failure = e instanceof OvsdbError ? e : new OvsdbError('OVSDB_PROTOCOL', `failed to parse OVSDB stream: ${String(e)}`, { cause: e });
      this.parts = [];
      this.size = 0;
      throw this.failure;
    }
  }

  /** Forgets any partial value and any earlier failure, for a new connection. */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.failure = undefined;
  }

  /** Bytes of an incomplete value held right now (0 between values). */
  get bufferedBytes(): number {
    return this.size;
  }

  private scan(chunk: Buffer): unknown[] {
    const out: unknown[] = [];
    const n = chunk.length;
    let start = this.depth > 0 ? 0 : -1; // where the current value begins in this chunk
    let i = 0;
    while (i < n) {
      if (this.depth === 0) {
        // Between values: only whitespace, then the '{' of the next message.
        const b = chunk[i];
        if (b === LBRACE) {
          this.depth = 1;
          start = i;
        } else if (!isWhitespace(b)) {
          throw new OvsdbError('OVSDB_PROTOCOL', `failed to parse OVSDB stream: unexpected ${describeByte(b)} between messages`);
        }
        i++;
        continue;
      }
      // Inside a value: find its end, staying within the size limit.
      const limit = Math.min(n, i + (this.maxMessageBytes - this.size - (i - start)) + 1);
      const end = this.scanValue(chunk, i, limit);
      if (end < 0) {
        if (limit < n || this.size + (n - start) > this.maxMessageBytes) throw this.tooLarge(this.size + (limit - start));
        break;
      }
      const total = this.size + (end + 1 - start);
      if (total > this.maxMessageBytes) throw this.tooLarge(total);
      const piece = chunk.subarray(start, end + 1);
      const bytes = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece], total);
      this.parts = [];
      this.size = 0;
      start = -1;
      out.push(parse(bytes));
      i = end + 1;
    }
    if (this.depth > 0 && start >= 0) {
      // Copy: the caller may reuse the chunk's memory (net.Socket does not, but streams may).
      const rest = Buffer.from(chunk.subarray(start));
      this.parts.push(rest);
      this.size += rest.length;
    }
    return out;
  }

  /** Scans chunk[from, limit) inside a value; returns the index of its closing brace, or -1. */
  private scanValue(chunk: Buffer, from: number, limit: number): number {
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    for (let i = from; i < limit; i++) {
      const b = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
      } else if (b === QUOTE) {
        inString = true;
      } else if (b === LBRACE || b === LBRACKET) {
        depth++;
      } else if (b === RBRACE || b === RBRACKET) {
        depth--;
        if (depth === 0) {
          this.depth = 0;
          this.inString = false;
          this.escaped = false;
          return i;
        }
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    return -1;
  }

  private tooLarge(seen: number): OvsdbError {
    return new OvsdbError(
      'OVSDB_FRAME_TOO_LARGE',
      `failed to read OVSDB message: it exceeds the ${this.maxMessageBytes}-byte limit (at least ${seen} bytes); raise maxMessageBytes if the database is that large`,
    );
  }
}

function parse(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    const head = text.length > 80 ? `${text.slice(0, 77)}...` : text;
    throw new OvsdbError('OVSDB_PROTOCOL', `failed to parse OVSDB message ${JSON.stringify(head)}: ${errorText(cause)}`, { cause });
  }
}

function describeByte(b: number): string {
  return b >= 0x20 && b < 0x7f ? `character ${JSON.stringify(String.fromCharCode(b))}` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

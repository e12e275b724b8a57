// Typed reads of a decoded JSON body (parse, don't assert): each reader checks one field and
// throws an INVALID_REQUEST DriverError naming the call, the field and what was expected.

import { isDockerId } from '../util/docker-id';
import { isObject, JsonObject, shortJson } from '../util/json';
import { DriverError } from './errors';

/** A short rendering of a bad value for an error message (never the whole of a huge input). */
export function show(v: unknown): string {
  return shortJson(v, 80);
}

/** Reads fields of one request body; `call` is the libnetwork method, for messages. */
export class Fields {
  constructor(readonly call: string, private readonly body: JsonObject, private readonly prefix = '') {}

  static of(call: string, body: unknown): Fields {
    if (!isObject(body)) throw invalid(call, `the body must be a JSON object, got ${show(body)}`);
    return new Fields(call, body);
  }

  /** Fields of a nested object, named "Outer.Inner" in messages. */
  nested(key: string, optional = false): Fields | undefined {
    const v = this.body[key];
    if ((v === undefined || v === null) && optional) return undefined;
    if (!isObject(v)) throw this.bad(key, 'an object', v);
    return new Fields(this.call, v, `${this.prefix}${key}.`);
  }

  error(key: string, expected: string, got: unknown): DriverError {
    return this.bad(key, expected, got);
  }

  private bad(key: string, expected: string, got: unknown): DriverError {
    const what = got === undefined ? 'it is missing' : `got ${show(got)}`;
    return invalid(this.call, `field "${this.prefix}${key}" must be ${expected}; ${what}`);
  }

  raw(key: string): unknown {
    return this.body[key];
  }

  id(key: string): string {
    const v = this.body[key];
    if (!isDockerId(v)) throw this.bad(key, 'a Docker id of 64 lowercase hexadecimal digits', v);
    return v;
  }

  string(key: string, optional = false): string {
    const v = this.body[key];
    if ((v === undefined || v === null) && optional) return '';
    if (typeof v !== 'string') throw this.bad(key, 'a string', v);
    return v;
  }

  object(key: string, optional = true): JsonObject {
    const v = this.body[key];
    if ((v === undefined || v === null) && optional) return {};
    if (!isObject(v)) throw this.bad(key, 'an object', v);
    return v;
  }

  array(key: string, optional = true): readonly unknown[] {
    const v = this.body[key];
    if ((v === undefined || v === null) && optional) return [];
    if (!Array.isArray(v)) throw this.bad(key, 'a list', v);
    return v;
  }

  integer(key: string): number {
    const v = this.body[key];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.bad(key, 'an integer', v);
    return v;
  }
}

export function invalid(call: string, why: string): DriverError {
  return new DriverError('INVALID_REQUEST', `failed to parse ${call} request: ${why}`);
}

// DEBUG, the managed plugin's switch (`docker plugin set ovn-driver DEBUG=1`): 1 turns on debug
// logs, 0 or unset leaves the default, an explicit log level wins, anything else is refused.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config';

test('DEBUG=1 means debug logs; 0, empty or unset mean the default level', () => {
  assert.equal(parseConfig([], { DEBUG: '1' }).logLevel, 'debug');
  assert.equal(parseConfig([], { DEBUG: '0' }).logLevel, 'info');
  assert.equal(parseConfig([], { DEBUG: '' }).logLevel, 'info');
  assert.equal(parseConfig([], {}).logLevel, 'info');
});

test('an explicit log level wins over DEBUG', () => {
  assert.equal(parseConfig(['--log-level', 'warn'], { DEBUG: '1' }).logLevel, 'warn');
  assert.equal(parseConfig([], { DEBUG: '1', OVN_DRIVER_LOG_LEVEL: 'error' }).logLevel, 'error');
});

test('DEBUG other than 0 or 1 is refused with CONFIG_INVALID naming it', () => {
  for (const value of ['yes', 'true', '2', ' 1']) {
    assert.throws(() => parseConfig([], { DEBUG: value }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.equal(e.message, `ovn-driver: invalid DEBUG "${value}": use 1 for debug logs or 0 for the --log-level default`);
      return true;
    });
  }
});

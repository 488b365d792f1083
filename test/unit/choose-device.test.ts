/**
 * The rule every way in shares (CLI, scripts, VS Code) for where to run: a named port or the
 * emulator as asked, else a plugged-in board, else a running emulator of ours, else the user's
 * answer, else a new emulator. Boards are given to it here (none is plugged into the machines that
 * run these tests); the serial port list itself is asked once, for real, at the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chooseDevice, type DeviceTarget } from '../../extension/connect/choose-device.js';
import { findBoard } from '../../extension/device/ports.js';

const board = async () => ({ path: '/dev/ttyACM0' });
const none = async () => undefined;
const never = async (): Promise<DeviceTarget> => { throw new Error('asked, though the rule needed no answer'); };

test('a named port or the emulator is taken as asked, before any board is looked for', async () => {
  const looked = async () => { throw new Error('looked for a board'); };
  assert.deepEqual(await chooseDevice({ port: '/dev/ttyUSB3', findBoard: looked, ask: never }), { kind: 'port', port: '/dev/ttyUSB3' });
  assert.deepEqual(await chooseDevice({ port: 'emulator', findBoard: looked, ask: never }), { kind: 'emulator' });
  assert.deepEqual(await chooseDevice({ emulator: true, findBoard: looked, ask: never }), { kind: 'emulator' });
  assert.deepEqual(await chooseDevice({ port: '/dev/ttyUSB3', emulator: true, findBoard: looked }), { kind: 'port', port: '/dev/ttyUSB3' }, 'a named port wins');
});

test('auto: a plugged-in board, else a running emulator, else the answer, else a new emulator', async () => {
  assert.deepEqual(await chooseDevice({ port: 'auto', findBoard: board, emulatorRunning: true, ask: never }), { kind: 'port', port: '/dev/ttyACM0' });
  assert.deepEqual(await chooseDevice({ findBoard: none, emulatorRunning: true, ask: never }), { kind: 'emulator' });
  assert.deepEqual(await chooseDevice({ findBoard: none, ask: async () => ({ kind: 'port', port: '/dev/ttyUSB0' }) }), { kind: 'port', port: '/dev/ttyUSB0' });
  assert.equal(await chooseDevice({ findBoard: none, ask: async () => undefined }), undefined, 'a cancelled question is no device');
  assert.deepEqual(await chooseDevice({ findBoard: none }), { kind: 'emulator' }, 'a script, asked nothing');
});

test('with the real serial port list', async () => {
  const plugged = await findBoard();
  assert.deepEqual(await chooseDevice({}), plugged ? { kind: 'port', port: plugged.path } : { kind: 'emulator' });
});

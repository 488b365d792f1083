/**
 * Another program on the device's port, for test/e2e/session.test.ts: it opens the port by path
 * with plain open(2) (no lock, no client), writes the frames it is given, and reports every frame
 * it reads back. Whichever process reads the port first gets a reply, so the test counts these
 * together with the frames the authenticated client saw as stray.
 *
 * Messages: ← {port, frames: hex strings}; → {written}; → {cmd, flags, payload (hex), sealed} for
 * each frame read (a SEALED one opened: its inner frame).
 */
import { constants, createReadStream, openSync, writeSync } from 'node:fs';

import { FrameDecoder } from '../../extension/protocol/codec.js';
import { isPlainSealedRefusal, unseal } from '../../extension/protocol/seal.js';

export interface InjectorSetup { port: string; frames: string[] }
export type InjectorMessage = { written: number } | { cmd: number; flags: number; payload: string; sealed: boolean };

process.once('message', (m: InjectorSetup) => {
  const fd = openSync(m.port, constants.O_RDWR | constants.O_NOCTTY);
  const decoder = new FrameDecoder();
  createReadStream('', { fd, autoClose: false }).on('data', (chunk) => {
    for (const ev of decoder.push(chunk as Buffer)) {
      if (ev.kind !== 'frame') continue;
      const opened = isPlainSealedRefusal(ev.frame) ? null : unseal(ev.frame);
      const f = opened?.ok ? opened.frame : ev.frame;
      process.send!({ cmd: f.cmd, flags: f.flags, payload: f.payload.toString('hex'), sealed: !!opened?.ok } satisfies InjectorMessage);
    }
  });
  for (const hex of m.frames) writeSync(fd, Buffer.from(hex, 'hex'));
  process.send!({ written: m.frames.length } satisfies InjectorMessage);
});

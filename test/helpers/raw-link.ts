/** A raw frame link for tests that must bypass the client (corrupt frames, unknown commands). */
import { FrameDecoder, type DecodeEvent, type Frame } from '../../extension/protocol/codec.js';
import { SerialTransport } from '../../extension/device/transport.js';

export class RawLink {
  private readonly decoder = new FrameDecoder();
  private frames: Frame[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly transport: SerialTransport) {
    transport.onData((chunk) => {
      for (const ev of this.decoder.push(chunk)) if (ev.kind === 'frame') this.frames.push((ev as Extract<DecodeEvent, { kind: 'frame' }>).frame);
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static async open(path: string): Promise<RawLink> {
    return new RawLink(await SerialTransport.open(path));
  }

  send(bytes: Buffer): Promise<void> {
    return this.transport.write(bytes);
  }

  /** The next frame the device sends, or a timeout error. */
  async next(timeoutMs = 3000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame from the device within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.frames.shift()!;
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

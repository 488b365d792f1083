// A realistic panel state: the emulated ESP32-P4 after a few runs.
import { emptyPanelState, type PanelState } from '../../webview/messages.js';

export const CAP = { EXEC: 1 << 0, BIT32: 1 << 1, BIT8: 1 << 2, DMA: 1 << 3, SPIRAM: 1 << 10, INTERNAL: 1 << 11, DEFAULT: 1 << 12 };

export function connectedState(): PanelState {
  return {
    connection: {
      state: 'connected',
      port: '/dev/pts/3',
      emulated: true,
      firmware: { board: 'qemu-virt', protocolVersion: 2 },
    },
    heap: {
      freeSpiram: 20_971_520, // 20 MiB of 32 MiB free: 37.5 % in use
      totalSpiram: 33_554_432,
      freeInternal: 61_440, // 60 KiB of 768 KiB: below a tenth, drawn as low
      totalInternal: 786_432,
    },
    allocations: [
      { addr: 0x4800_0000, size: 4096, caps: CAP.EXEC | CAP.SPIRAM | CAP.BIT8, owner: 'dot_product' },
      { addr: 0x4800_1000, size: 1536, caps: CAP.SPIRAM | CAP.BIT8, owner: 'dot_product' },
      { addr: 0x4ff0_0200, size: 640, caps: CAP.DMA | CAP.INTERNAL | (1 << 9), owner: null },
    ],
    functions: [
      { key: '/home/dev/dsp/dot.c::dot_product', name: 'dot_product', file: '/home/dev/dsp/dot.c', addr: 0x4800_0000, size: 4096, stale: false, lastResult: '140' },
      { key: '/home/dev/led/blink.c::blink_count', name: 'blink_count', file: '/home/dev/led/blink.c', addr: 0x4800_2000, size: 512, stale: true, lastResult: null },
    ],
    calls: [
      {
        id: 3,
        function: 'scale_buffer',
        args: ['buf', '8', '3'],
        returnValue: null,
        measured: [],
        output: '',
        arrays: [],
        fault: { message: 'Store access fault at 0x00000004', file: '/home/dev/dsp/scale.c', line: 17 },
        at: '2025-06-01T10:15:42.000Z',
      },
      {
        id: 2,
        function: 'dot_product',
        args: ['{1, 2, 3, 4}', '{5, 6, 7, 8}', '4'],
        returnValue: '70',
        measured: ['1,234,567 instructions'],
        output: 'sum so far: 70\ndone\n',
        arrays: [{ name: 'a', values: '[1, 2, 3, 4]', length: 4 }],
        fault: null,
        at: '2025-06-01T10:15:30.000Z',
      },
      {
        id: 1,
        function: 'dot_product',
        args: ['{1, 1}', '{2, 2}', '2'],
        returnValue: '4',
        measured: ['412 cycles', '850 µs'],
        output: '',
        arrays: [],
        fault: null,
        at: '2025-06-01T10:15:01.000Z',
      },
    ],
  };
}

export function disconnectedState(): PanelState {
  return emptyPanelState();
}

/**
 * The emulated ESP32-P4 survives whatever JIT code does: every fault kind comes back as a FAULT
 * reply with the trap's cause, runaway code is stopped by its time limit, and afterwards the
 * device still answers, runs code and keeps its allocation table. Fault cases are raw RV32
 * machine code (no compiler involved); the printf cases use the real RISC-V GCC.
 *
 * On a board (npm run test:board) only what a board survives runs: printf from JIT code. A fault
 * there resets the chip (ESP-IDF's panic handler), its call wrapper restores no registers, and
 * its time limits only warn: those tests are the emulator's.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { DeviceClient } from '../../extension/device/client.js';
import { DeviceError } from '../../extension/device/errors.js';
import { Emulator } from '../../extension/emulator/launcher.js';
import { DeviceCap, Err, MallocCap } from '../../extension/protocol/constants.js';
import { discoverToolchain } from '../../toolchain/discover.js';
import { loadCode } from '../../extension/session/loader.js';
import { BOARD_CANNOT_STOP_CODE, emulatorOnly, FAULT_RESETS_A_BOARD, needsFirmwareElf, startDevice, type DeviceUnderTest } from '../helpers/device.js';
import { scratchDir } from '../helpers/paths.js';

const CODE_CAPS = MallocCap.EXEC | MallocCap.SPIRAM | MallocCap['8BIT'];
const RET = 0x00008067; // jalr x0, 0(ra)
const LI_A0_42 = 0x02a00513; // addi a0, x0, 42
const words = (...w: number[]) => Buffer.from(new Uint32Array(w).buffer);

interface FaultCase {
  name: string;
  code: number[];
  mcause: number[]; // accepted causes
  /** expected mtval: an address, or an offset into the code buffer */
  mtval?: number | { codeOffset: number };
}

const FAULTS: FaultCase[] = [
  { name: 'illegal instruction', code: [0x00000000], mcause: [2] },
  // lui t0, 0xf0000 ; jr t0
  { name: 'jump to an unmapped address', code: [0xf00002b7, 0x00028067], mcause: [1], mtval: 0xf0000000 },
  // jalr x0, 0(x0): the null page is guarded
  { name: 'jump to address 0', code: [0x00000067], mcause: [1], mtval: 0 },
  // lui t0, 0xf0000 ; lw a0, 0(t0) ; ret
  { name: 'load from an unmapped address', code: [0xf00002b7, 0x0002a503, RET], mcause: [5], mtval: 0xf0000000 },
  // lw a0, 0(x0) ; ret
  { name: 'load through a null pointer', code: [0x00002503, RET], mcause: [5], mtval: 0 },
  // lui t0, 0xf0000 ; sw x0, 0(t0) ; ret
  { name: 'store to an unmapped address', code: [0xf00002b7, 0x0002a023, RET], mcause: [7], mtval: 0xf0000000 },
  // lui t0, 0x80000 ; sw x0, 0(t0) ; ret: the firmware's code is read-only
  { name: 'store into the firmware code', code: [0x800002b7, 0x0002a023, RET], mcause: [7], mtval: 0x80000000 },
  // auipc t0, 0 ; addi t1, t0, 1 ; amoadd.w a0, x0, (t1) ; ret: atomics must be aligned
  // (QEMU 7.2 reports cause 4, the specification says 6)
  { name: 'misaligned atomic', code: [0x00000297, 0x00128313, 0x0003252f, RET], mcause: [4, 6], mtval: { codeOffset: 1 } },
  { name: 'ecall', code: [0x00000073, RET], mcause: [11] },
  { name: 'ebreak', code: [0x00100073, RET], mcause: [3] },
  // lui sp, 0xf0000 ; sw ra, -4(sp) ; ret: the trap handler must not use the broken sp
  { name: 'a garbage stack pointer, then a push', code: [0xf0000137, 0xfe112e23, RET], mcause: [7], mtval: 0xeffffffc },
  // f: addi sp, sp, -16 ; sw ra, 12(sp) ; jal f: runs into the stack guard page
  { name: 'endless recursion (stack overflow)', code: [0xff010113, 0x00112623, 0xff9ff0ef], mcause: [7] },
  // li t0, 0x1800 ; csrc mstatus, t0 ; li t0, 0x20000 ; csrs mstatus, t0 ; lw a0, 0(sp) ; ret:
  // mstatus.MPRV with MPP=U makes loads use user rights, which the PMP refuses
  { name: 'loads switched to user mode (MPRV)', code: [0x000022b7, 0x80028293, 0x3002b073, 0x000202b7, 0x3002a073, 0x00012503, RET], mcause: [5] },
  // li gp, 0 ; li tp, 0 ; illegal: the handler must not rely on gp or tp
  { name: 'gp and tp cleared, then an illegal instruction', code: [0x00000193, 0x00000213, 0x00000000], mcause: [2] },
];

/** Code that misbehaves but returns: the firmware must put everything back. */
const SURVIVORS: { name: string; code: number[] }[] = [
  { name: 'returns with a garbage stack pointer', code: [0x12345137, LI_A0_42, RET] }, // lui sp, 0x12345
  { name: 'returns with gp and tp cleared', code: [0x00000193, 0x00000213, LI_A0_42, RET] },
  // li t0, 0x6000 ; csrc mstatus, t0: the FPU is off on return
  { name: 'returns with the FPU switched off', code: [0x000062b7, 0x3002b073, LI_A0_42, RET] },
  // li t0, 0xe0 ; csrw fcsr, t0: rounding mode 7 is invalid, a later float op would trap
  { name: 'returns with an invalid rounding mode', code: [0x0e000293, 0x00329073, LI_A0_42, RET] },
];

const RESETS_A_BOARD = emulatorOnly(FAULT_RESETS_A_BOARD);
const NO_RESTORE_ON_A_BOARD = emulatorOnly('the ESP-IDF port restores no registers after a call: broken sp/gp/tp/FPU state crash a board');
const NO_LIMIT_ON_A_BOARD = emulatorOnly(BOARD_CANNOT_STOP_CODE);

describe('faults and runaway code on the emulated ESP32-P4 (virtio link)', () => {
  let emu: DeviceUnderTest;
  let client: DeviceClient;
  let code: number; // a scratch code buffer
  let good: number; // returns 42
  let table: Awaited<ReturnType<DeviceClient['listAllocs']>>;

  before(async () => {
    emu = await startDevice({ link: 'virtio', icount: false });
    client = await emu.connect();
    good = await client.alloc(16, CODE_CAPS, 16);
    await client.write(good, words(LI_A0_42, RET));
    code = await client.alloc(256, CODE_CAPS, 16);
    table = await client.listAllocs();
  });

  after(async () => {
    for (const a of await client?.listAllocs() ?? []) await client.free(a.addr); // a board goes on to the next suite
    await client?.close();
    await emu?.stop();
  });

  async function assertStillWorking(): Promise<void> {
    assert.equal((await client.ping(Buffer.from('alive'))).toString(), 'alive');
    assert.equal(await client.exec(good), 42);
    assert.deepEqual(await client.listAllocs(), table);
  }

  test('INFO reports fault recovery, and cycles at the host counter\'s rate (no -icount)', emulatorOnly('a board claims no fault recovery'), () => {
    assert.ok(client.has(DeviceCap.FaultRecovery));
    assert.ok(!client.has(DeviceCap.ICount));
    assert.ok((client.info?.cpuHz ?? 0) > 0);
  });

  for (const c of FAULTS) {
    test(`${c.name}: FAULT with mcause ${c.mcause.join(' or ')}, then the device carries on`, RESETS_A_BOARD, async () => {
      await client.write(code, words(...c.code));
      const err = await client.call(code, Buffer.alloc(0)).then(
        () => assert.fail('the call returned'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DeviceError, String(err));
      assert.equal(err.code, Err.FAULT, err.message);
      const [mcause, mepc, mtval] = err.detail;
      assert.ok(c.mcause.includes(mcause), `mcause ${mcause}`);
      assert.ok(mepc !== undefined && mtval !== undefined);
      if (typeof c.mtval === 'number') assert.equal(mtval >>> 0, c.mtval);
      if (typeof c.mtval === 'object') assert.equal(mtval >>> 0, code + c.mtval.codeOffset);
      await assertStillWorking();
      const last = (await client.readInfo()).lastFault;
      assert.ok(last);
      assert.deepEqual([last.mcause, last.entry], [mcause, code]);
    });
  }

  for (const c of SURVIVORS) {
    test(`${c.name}: the result arrives and the device carries on`, NO_RESTORE_ON_A_BOARD, async () => {
      await client.write(code, words(...c.code));
      assert.equal(await client.exec(code), 42);
      await assertStillWorking();
    });
  }

  test('misaligned loads and stores are carried out (QEMU emulates them)', emulatorOnly('QEMU\'s behaviour; where a chip traps, the board resets'), async () => {
    // auipc t0, 0 ; lw a0, 1(t0) ; ret: reads bytes 1..4 of this very code
    await client.write(code, words(0x00000297, 0x0012a503, RET));
    const bytes = await client.read(code, 8);
    assert.equal((await client.exec(code)) >>> 0, bytes.readUInt32LE(1));
    // auipc t0, 0 ; lui t1, 0x11223 ; addi t1, t1, 0x344 ; sw t1, 33(t0) ; ret
    await client.write(code, words(0x00000297, 0x11223337, 0x34430313, 0x0262a0a3, RET));
    await client.exec(code);
    assert.equal((await client.read(code + 33, 4)).readUInt32LE(0), 0x11223344);
    await assertStillWorking();
  });

  test('a spinning function is stopped by its time limit: TIMEOUT with the pc inside it', NO_LIMIT_ON_A_BOARD, async () => {
    await client.write(code, words(0x0000006f)); // j .
    // the client waits for the limit plus its slack: a DeviceError (not a TimeoutError) proves
    // the device stopped the code within that time
    const err = await client.call(code, Buffer.alloc(0), { timeLimitMs: 300 }).then(() => assert.fail('returned'), (e: unknown) => e);
    assert.ok(err instanceof DeviceError, String(err));
    assert.equal(err.code, Err.TIMEOUT);
    assert.equal(err.detail[0] >>> 0, code);
    await assertStillWorking();
  });

  test('code that enables external interrupts and spins is still stopped', NO_LIMIT_ON_A_BOARD, async () => {
    // li t0, 0x800 ; csrs mie, t0 ; csrsi mstatus, 8 ; j .
    await client.write(code, words(0x000012b7, 0x80028293, 0x3042a073, 0x30046073, 0x0000006f));
    const err = await client.call(code, Buffer.alloc(0), { timeLimitMs: 300 }).then(() => assert.fail('returned'), (e: unknown) => e);
    assert.ok(err instanceof DeviceError, String(err));
    assert.equal(err.code, Err.TIMEOUT);
    await assertStillWorking();
  });

  test('code that claims the link\'s interrupt and never completes it: the device still answers', emulatorOnly('the emulator\'s PLIC and virtio link'), async () => {
    // lui t0, 0x0c200 ; 1: lw a0, 4(t0) (PLIC claim) ; beqz a0, 1b ; ret
    // the host's nudge after 200 ms without a reply raises the link interrupt for it to claim
    await client.write(code, words(0x0c2002b7, 0x0042a503, 0xfe050ee3, 0x00008067));
    await client.call(code, Buffer.alloc(0), { timeLimitMs: 2000 });
    await assertStillWorking();
    await assertStillWorking();
  });

  describe('printf and the C library from JIT code', needsFirmwareElf(), () => {
    const source = `
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void __p4jit_entry(const uint64_t *args, uint64_t *ret)
{
    int n = (int)args[0];
    float x = (float)n / 8.0f;
    switch ((int)args[1]) {
    case 0: /* plain output, float formatting */
        printf("n=%d x=%.3f half=%f\\n", n, x, x / 2);
        break;
    case 1: /* a bad pointer: the fault happens inside the firmware's printf */
        printf("before\\n");
        printf("bad %s\\n", (const char *)(uintptr_t)0xF0000000u);
        break;
    case 2: /* allocate forever: the time limit may stop it inside malloc */
        for (;;) {
            free(malloc(64 + (rand() & 1023)));
            (void)malloc(16);
        }
    case 3: /* print forever: the time limit stops it between output frames */
        for (unsigned i = 0;; i++) printf("line %u\\n", i);
    }
    *ret = (uint64_t)(n * 2);
}
`;
    let entry: number;
    let output = '';
    const onOutput = (text: string) => { output += text; };
    const slots = (n: number, mode: number) => {
      const b = Buffer.alloc(16);
      b.writeBigInt64LE(BigInt(n), 0);
      b.writeBigInt64LE(BigInt(mode), 8);
      return b;
    };

    before(async () => {
      const dir = scratchDir('emu-printf');
      writeFileSync(join(dir, 'printer.c'), source);
      const build = { toolchain: discoverToolchain(), buildDir: dir, firmwareElf: emu.image };
      entry = (await loadCode(client, { name: 'printer', sources: [join(dir, 'printer.c')], build })).entry;
      table = await client.listAllocs();
      client.on('output', onOutput);
    });

    after(() => { client.off('output', onOutput); });

    test('printf output (with %f) arrives as OUTPUT before the reply', async () => {
      output = '';
      const r = await client.call(entry, slots(42, 0));
      assert.equal(r.ret.readBigInt64LE(0), 84n);
      assert.equal(output, 'n=42 x=5.250 half=2.625000\n');
    });

    test('a fault inside printf is reported, the text printed before it arrives, printf works again', RESETS_A_BOARD, async () => {
      output = '';
      const err = await client.call(entry, slots(1, 1)).then(() => assert.fail('returned'), (e: unknown) => e);
      assert.ok(err instanceof DeviceError && err.code === Err.FAULT, String(err));
      assert.deepEqual([err.detail[0], err.detail[2] >>> 0], [5, 0xf0000000]);
      assert.ok(output.startsWith('before\nbad '), JSON.stringify(output));
      output = '';
      await client.call(entry, slots(8, 0));
      assert.equal(output, 'n=8 x=1.000 half=0.500000\n');
      await assertStillWorking();
    });

    test('a malloc loop stopped by its time limit leaves the firmware heap usable', NO_LIMIT_ON_A_BOARD, async () => {
      for (let i = 0; i < 3; i++) {
        const err = await client.call(entry, slots(0, 2), { timeLimitMs: 150 }).then(() => assert.fail('returned'), (e: unknown) => e);
        assert.ok(err instanceof DeviceError && err.code === Err.TIMEOUT, String(err));
      }
      output = '';
      await client.call(entry, slots(16, 0));
      assert.equal(output, 'n=16 x=2.000 half=1.000000\n');
      await assertStillWorking();
    });

    test('endless printing stopped by its time limit: every OUTPUT frame intact, in order', NO_LIMIT_ON_A_BOARD, async () => {
      output = '';
      const err = await client.call(entry, slots(0, 3), { timeLimitMs: 200 }).then(() => assert.fail('returned'), (e: unknown) => e);
      assert.ok(err instanceof DeviceError && err.code === Err.TIMEOUT, String(err));
      const lines = output.split('\n');
      lines.pop(); // the line being printed when time ran out may be cut short
      assert.ok(lines.length > 0);
      lines.forEach((l, i) => assert.equal(l, `line ${i}`));
      await assertStillWorking();
    });
  });
});

describe('time limits and cycle counts', emulatorOnly('QEMU\'s -icount and limits set at the emulator\'s start'), () => {
  // li t0, N ; 1: addi t0, t0, -1 ; bnez t0, 1b ; ret  →  2N + 2 instructions
  const loop = (n: number) => words(((n & 0xfff) << 20) | 0x293, 0xfff28293, 0xfe029ee3, RET);
  let emu: Emulator;
  let client: DeviceClient;

  before(async () => {
    emu = await Emulator.start({ defaultCallMs: 100, maxCallMs: 1000 }); // -icount: the default
    client = await emu.connect();
  });

  after(async () => {
    await client?.close();
    await emu?.stop();
  });

  test('with -icount, INFO reports instruction counting and cycles are exact and repeatable', async () => {
    assert.ok(client.has(DeviceCap.ICount));
    assert.equal(client.info?.cpuHz, 1e9);
    const code = await client.alloc(64, CODE_CAPS, 16);
    for (const n of [1, 1000]) {
      await client.write(code, loop(n));
      const a = await client.call(code, Buffer.alloc(0));
      const b = await client.call(code, Buffer.alloc(0));
      assert.equal(a.cycles, b.cycles);
      assert.ok(a.cycles >= BigInt(2 * n + 2) && a.cycles <= BigInt(2 * n + 4), `${a.cycles} cycles for ${2 * n + 2} instructions`);
    }
    await client.free(code);
  });

  test('the options\' limits hold: EXEC gets defaultCallMs, CALL may not ask above maxCallMs', async () => {
    assert.deepEqual([client.info?.defaultCallMs, client.info?.maxCallMs], [100, 1000]);
    const code = await client.alloc(64, CODE_CAPS, 16);
    await client.write(code, words(0x0000006f)); // j .
    await assert.rejects(client.exec(code), (e: unknown) => e instanceof DeviceError && e.code === Err.TIMEOUT);
    await assert.rejects(client.call(code, Buffer.alloc(0), { timeLimitMs: 1001 }), (e: unknown) => e instanceof DeviceError && e.code === Err.BAD_ARGUMENT);
    await client.free(code);
  });
});

describe('the UART fallback link', emulatorOnly('the emulator\'s UART link'), () => {
  let emu: Emulator;
  let client: DeviceClient;

  before(async () => {
    emu = await Emulator.start({ link: 'uart' });
    client = await emu.connect();
  });

  after(async () => {
    await client?.close();
    await emu?.stop();
  });

  test('moves data both ways, reports a fault and a time-out, and carries on', async () => {
    const buf = await client.alloc(16 * 1024, CODE_CAPS, 16);
    const data = Buffer.from(Array.from({ length: 16 * 1024 }, (_, i) => (i * 13 + 5) & 0xff));
    await client.write(buf, data);
    assert.deepEqual(await client.read(buf, data.length), data);

    await client.write(buf, words(0x00000000));
    await assert.rejects(client.call(buf, Buffer.alloc(0)), (e: unknown) => e instanceof DeviceError && e.code === Err.FAULT && e.detail[0] === 2);
    await client.write(buf, words(0x0000006f));
    await assert.rejects(client.call(buf, Buffer.alloc(0), { timeLimitMs: 200 }), (e: unknown) => e instanceof DeviceError && e.code === Err.TIMEOUT);
    await client.write(buf, words(LI_A0_42, RET));
    assert.equal(await client.exec(buf), 42);
    await client.free(buf);
  });
});

/*
 * The host (x86-64) board port of the P4-JIT core, for unit tests and fuzzing.
 *
 * Memory: a PSRAM-like and an internal-like arena at configurable 32-bit device addresses,
 * managed by jit_heap and mapped into this program's memory by jit_port_ptr().
 * Output: every byte the core writes is appended to a capture buffer.
 * Time: a fake millisecond clock that only moves when told (pc_port_advance) or when simulated
 * code sleeps or spins.
 *
 * Running code: the host cannot execute RISC-V, so jit_port_run() interprets a tiny test encoding
 * found at the entry. Each instruction is a little-endian u32 opcode followed by its operands:
 *
 *   PC_OP_RET      lo u32, hi u32  return lo | hi << 32 (EXEC: the int lo, sign-extended)
 *   PC_OP_FAULT    mcause, mtval   trap with mepc = the instruction's address
 *   PC_OP_SPIN                     loop forever: the clock runs to the time limit, TIMEOUT
 *   PC_OP_PRINT    n u32, n bytes  print the bytes (padded to 4), go on with the next instruction
 *                                    (OUTPUT frames, or the console: pc_port_console())
 *   PC_OP_RET_ARG  k u32           return argument slot k (load fault, mcause 5, when k >= nargs)
 *   PC_OP_SLEEP    ms u32          the clock moves by ms (TIMEOUT once the limit is reached)
 *   PC_OP_FILL     addr, n, byte   store byte at addr .. addr+n-1 in order, as a loop would (any
 *                                    arena memory, guards included); a byte outside every arena is
 *                                    a store access fault (mcause 7, mtval = its address)
 *
 * Any other opcode is an illegal instruction (mcause 2, mtval = the word); an instruction that
 * does not lie inside an arena is an instruction access fault (mcause 1). cycles counts the
 * instructions run, time_us the fake time the call took.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "jit_heap.h"
#include "jit_port.h"
#include "jit_protocol.h"

enum {
    PC_OP_RET = 1,
    PC_OP_FAULT = 2,
    PC_OP_SPIN = 3,
    PC_OP_PRINT = 4,
    PC_OP_RET_ARG = 5,
    PC_OP_SLEEP = 6,
    PC_OP_FILL = 7,
};

#define PC_PSRAM_BASE 0x48000000u
#define PC_INTERNAL_BASE 0x4FF00000u
/* heap descriptors per arena: enough for the largest table a test or the fuzzer sets up */
#define PC_HEAP_BLOCKS JIT_HEAP_BLOCKS_FOR(1024u)
#define PC_CPU_HZ 1000000u
#define HOST_BOARD_NAME "host"

typedef struct {
    uint32_t psram_base, psram_size; /* base 16-aligned, base + size <= 2^32 */
    uint32_t internal_base, internal_size;
    uint32_t start_ms; /* where the fake clock starts */
} pc_port_config_t;

/** The default layout: the ESP32-P4 bases with small arenas. */
pc_port_config_t pc_port_defaults(void);
/** (Re)creates zeroed arenas and resets clock, capture, random stream, sync log and fault record. */
void pc_port_init(const pc_port_config_t *cfg);
/** Releases the arenas and the capture buffer. */
void pc_port_fini(void);

void pc_port_advance(uint32_t ms);
void pc_port_set_millis(uint32_t ms);

/** Everything written since the last clear. */
const uint8_t *pc_port_output(size_t *len);
void pc_port_clear_output(void);

/** What calls printed to the console (output_to_host false) since init, NUL-terminated; the
    newest 255 bytes. */
const char *pc_port_console(void);

/** 0: PSRAM, 1: internal. */
jit_heap_region_t *pc_port_region(int which);

typedef struct {
    uint32_t count; /* jit_port_sync calls since init */
    uint32_t addr, len;
    bool exec;
} pc_sync_log_t;
const pc_sync_log_t *pc_port_sync_log(void);

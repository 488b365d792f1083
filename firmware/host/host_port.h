/*
 * The host (x86-64) board port of the P4-JIT core, for unit tests and fuzzing.
 *
 * Memory: a PSRAM-like and an internal-like arena at configurable 32-bit device addresses,
 * managed by jit_heap and mapped into this program's memory by jit_port_ptr().
 * Output: every byte the core writes is appended to a capture buffer.
 * Time: a fake millisecond clock that only moves when told (host_port_advance) or when simulated
 * code sleeps or spins.
 *
 * Running code: the host cannot execute RISC-V, so jit_port_run() interprets a tiny test encoding
 * found at the entry. Each instruction is a little-endian u32 opcode followed by its operands:
 *
 *   HOST_OP_RET      lo u32, hi u32  return lo | hi << 32 (EXEC: the int lo, sign-extended)
 *   HOST_OP_FAULT    mcause, mtval   trap with mepc = the instruction's address
 *   HOST_OP_SPIN                     loop forever: the clock runs to the time limit, TIMEOUT
 *   HOST_OP_PRINT    n u32, n bytes  print the bytes (padded to 4), go on with the next instruction
 *                                    (OUTPUT frames, or the console: host_port_console())
 *   HOST_OP_RET_ARG  k u32           return argument slot k (load fault, mcause 5, when k >= nargs)
 *   HOST_OP_SLEEP    ms u32          the clock moves by ms (TIMEOUT once the limit is reached)
 *   HOST_OP_FILL     addr, n, byte   store byte at addr .. addr+n-1 in order, as a loop would (any
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
    HOST_OP_RET = 1,
    HOST_OP_FAULT = 2,
    HOST_OP_SPIN = 3,
    HOST_OP_PRINT = 4,
    HOST_OP_RET_ARG = 5,
    HOST_OP_SLEEP = 6,
    HOST_OP_FILL = 7,
};

#define HOST_PSRAM_BASE 0x48000000u
#define HOST_INTERNAL_BASE 0x4FF00000u
/* heap descriptors per arena: enough for the largest table a test or the fuzzer sets up */
#define HOST_HEAP_BLOCKS JIT_HEAP_BLOCKS_FOR(1024u)
#define HOST_CPU_HZ 1000000u
#define HOST_BOARD_NAME "host"

typedef struct {
    uint32_t psram_base, psram_size; /* base 16-aligned, base + size <= 2^32 */
    uint32_t internal_base, internal_size;
    uint32_t start_ms; /* where the fake clock starts */
} host_port_config_t;

/** The default layout: the ESP32-P4 bases with small arenas. */
host_port_config_t host_port_defaults(void);
/** (Re)creates zeroed arenas and resets clock, capture, random stream, sync log and fault record. */
void host_port_init(const host_port_config_t *cfg);
/** Releases the arenas and the capture buffer. */
void host_port_fini(void);

void host_port_advance(uint32_t ms);
void host_port_set_millis(uint32_t ms);

/** Everything written since the last clear. */
const uint8_t *host_port_output(size_t *len);
void host_port_clear_output(void);

/** What calls printed to the console (output_to_host false) since init, NUL-terminated; the
    newest 255 bytes. */
const char *host_port_console(void);

/** 0: PSRAM, 1: internal. */
jit_heap_region_t *host_port_region(int which);

typedef struct {
    uint32_t count; /* jit_port_sync calls since init */
    uint32_t addr, len;
    bool exec;
} host_sync_log_t;
const host_sync_log_t *host_port_sync_log(void);

/*
 * What a board port provides to the portable protocol core.
 * Ports: ESP-IDF (src/port_espidf.c), the emulated ESP32-P4 (firmware/emulator/), and the host
 * build for unit tests and fuzzing (firmware/test/).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Outcome of running JIT code under the port's protection. */
typedef enum {
    JIT_RUN_OK = 0,
    JIT_RUN_FAULT = 1,   /**< a trap in JIT code; mcause/mepc/mtval set */
    JIT_RUN_TIMEOUT = 2, /**< the time limit expired; mepc set */
} jit_run_status_t;

typedef struct {
    jit_run_status_t status;
    uint32_t mcause;
    uint32_t mepc;
    uint32_t mtval;
    uint64_t cycles;  /**< cycles spent inside fn */
    uint32_t time_us; /**< wall time spent inside fn */
} jit_run_result_t;

typedef struct {
    uint32_t valid;
    uint32_t mcause;
    uint32_t mepc;
    uint32_t mtval;
    uint32_t entry;
} jit_fault_record_t;

/** Board facts reported by INFO. */
typedef struct {
    uint32_t cache_line;
    uint32_t capabilities; /**< JIT_CAP_* bits the port adds (fault recovery, icount, emulator) */
    uint32_t cpu_hz;
    uint32_t reset_reason;
    uint8_t firmware_id[32];
    jit_fault_record_t last_fault;
    char board[16];
} jit_board_info_t;

/**
 * Bytes to the host. Must deliver all of them while a host is connected (block, apply
 * back-pressure); a port may discard them when no host can take them (port closed, stopping).
 */
void jit_port_write(const uint8_t *data, size_t len);

/** Milliseconds since boot (wraps; the core only takes differences). */
uint32_t jit_port_millis(void);

/**
 * Allocate from the region that has every bit of caps. Returns the device address, 0 when no
 * region has room. Addresses are 32-bit device addresses; jit_port_ptr() turns one into a pointer.
 */
uint32_t jit_port_alloc(uint32_t size, uint32_t caps, uint32_t align);
void jit_port_free(uint32_t addr);
void *jit_port_ptr(uint32_t addr);
/** free/total of the PSRAM and internal regions. */
void jit_port_heap_info(uint32_t *free_spiram, uint32_t *total_spiram, uint32_t *free_internal,
                        uint32_t *total_internal);

/** Make bytes just written visible to loads (and to instruction fetch when exec is true). */
void jit_port_sync(uint32_t addr, uint32_t len, bool exec);

typedef enum {
    JIT_CALL_EXEC, /**< int (*)(void); ret = the int, sign-extended */
    JIT_CALL_SLOTS /**< void (*)(uint64_t *args, uint64_t *ret) */
} jit_call_kind_t;

typedef struct {
    jit_call_kind_t kind;
    uint32_t entry;
    uint64_t *args; /**< argument slots (JIT_CALL_SLOTS) */
    uint32_t nargs;
    uint64_t ret; /**< written by the call */
    uint32_t limit_ms;
    /** true: what the code prints goes to jit_core_output() (OUTPUT frames); false: to the
        board's console, as the seed does (the host did not ask for OUTPUT frames) */
    bool output_to_host;
} jit_call_t;

/**
 * Call JIT code with fault and time-limit protection where the board can give it, and measure it.
 * While it runs, what the code prints goes to jit_core_output() or the console (output_to_host).
 */
void jit_port_run(jit_call_t *call, jit_run_result_t *result);

void jit_port_board_info(jit_board_info_t *info);

/** Fill buf with unpredictable bytes (authentication nonces). */
void jit_port_random(uint8_t *buf, size_t len);

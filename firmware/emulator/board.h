/* The emulated ESP32-P4 board: options, memory regions, the host link and machine helpers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit_protocol.h"

/* where the launcher's options block is loaded (reserved in link.ld) */
#define BOARD_OPTIONS_ADDR 0x803ff000u

/* ESP-IDF esp_reset_reason_t values the emulator reports */
#define BOARD_RESET_POWERON 1u
#define BOARD_RESET_PANIC 4u

/** Options the launcher places in memory before boot (options.c). */
typedef struct {
    uint32_t icount;          /* the launcher ran QEMU with -icount */
    uint32_t max_allocs;      /* 0: the board's table size */
    uint32_t max_alloc_bytes; /* 0: unlimited */
    uint32_t default_call_ms;
    uint32_t max_call_ms;
    uint32_t reset_reason;
    uint8_t secret[64];
    uint32_t secret_len; /* 0: authentication off */
} board_options_t;

void board_read_options(board_options_t *opts);

/* ---- machine registers of QEMU "virt" ---- */

#define REG8(a) (*(volatile uint8_t *)(uintptr_t)(a))
#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

#define PLIC 0x0c000000u
#define PLIC_PRIORITY(irq) (PLIC + 4u * (irq))
#define PLIC_ENABLE (PLIC + 0x2000u)
#define PLIC_THRESHOLD (PLIC + 0x200000u)
#define PLIC_CLAIM (PLIC + 0x200004u)

#define MTIME_HZ 10000000u

#define MIP_MTIP (1u << 7)
#define MIE_MTIE (1u << 7)
#define MIE_MEIE (1u << 11)
#define MSTATUS_MIE (1u << 3)
#define MSTATUS_MPIE (1u << 7)
#define MSTATUS_FS_INITIAL (1u << 13)
#define MSTATUS_FS (3u << 13)
#define MSTATUS_MPRV (1u << 17)

uint64_t board_mtime(void);
void board_timer_at(uint64_t when);
void board_timer_off(void);
uint64_t board_rdcycle(void);

/** Routes a PLIC interrupt to the hart (used as a wfi wake-up, never taken as a trap). */
void board_irq_enable(uint32_t irq);
/** Re-applies the PLIC routing (JIT code may have changed it). */
void board_irq_restore(void);
/** Claims and completes every pending PLIC interrupt. */
void board_irq_clear(void);

/* ---- the link to the host ---- */

/**
 * The byte stream the protocol runs on: the NS16550A UART, or a virtio-serial port (much faster).
 * receive() hands out the next received chunk and recycles the one handed out before;
 * write() may buffer, flush() sends what is buffered; pending() tells (without side effects)
 * whether receive() has something, so the idle loop can sleep safely; host_changed() (NULL when
 * the link cannot tell) reports once that a host opened or closed the port since the last ask.
 */
typedef struct {
    const char *name;
    const uint8_t *(*receive)(size_t *len);
    bool (*pending)(void);
    void (*write)(const uint8_t *data, size_t len);
    void (*flush)(void);
    bool (*host_changed)(void);
} board_link_t;

extern const board_link_t board_uart_link;
extern const board_link_t board_virtio_link;
void board_uart_init(void);
/** The UART as the board's console (only when the link is the virtio port). */
void board_console_init(void);
/** Bytes to the console; dropped when the UART is the link. */
void board_console_write(const uint8_t *data, size_t len);
/** Finds and starts the virtio-serial port; false when the machine has none. */
bool board_virtio_init(void);

/** Sleeps until an interrupt is pending (link activity, or the timer when armed). */
void board_wait_for_interrupt(void);

/* ---- running JIT code (run.c) ---- */

/** Locks the machine's guard regions (null page, firmware code, stack guard) with the PMP. */
void board_protect_memory(void);
/** Measures the cycle counter: its rate, whether it counts instructions, the call overhead. */
void board_calibrate_cycles(void);
uint32_t board_cycle_hz(void);
bool board_cycles_are_instructions(void);
/** Before a call: where what it prints goes (OUTPUT frames, or the console). */
void board_output_reset(bool to_host);
/** Sends what JIT code printed so far as an OUTPUT frame, or to the console. */
void board_output_flush(void);

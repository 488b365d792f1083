/* The emulated ESP32-P4 board: options and memory regions. */
#pragma once

#include <stdint.h>

#include "jit_protocol.h"

/* where the launcher's options block is loaded (reserved in link.ld) */
#define BOARD_OPTIONS_ADDR 0x803ff000u

/* caps each region answers, as ESP-IDF's heap would on an ESP32-P4 */
#define BOARD_PSRAM_CAPS                                                                              \
    (JIT_CAP_MALLOC_SPIRAM | JIT_CAP_MALLOC_8BIT | JIT_CAP_MALLOC_32BIT | JIT_CAP_MALLOC_EXEC |        \
     JIT_CAP_MALLOC_DEFAULT)
#define BOARD_INTERNAL_CAPS                                                                           \
    (JIT_CAP_MALLOC_INTERNAL | JIT_CAP_MALLOC_8BIT | JIT_CAP_MALLOC_32BIT | JIT_CAP_MALLOC_DMA |       \
     JIT_CAP_MALLOC_EXEC | JIT_CAP_MALLOC_DEFAULT)

/** Options the launcher places in memory before boot (options.c). */
typedef struct {
    uint32_t icount;          /* QEMU runs with -icount: cycles are instruction counts */
    uint32_t max_allocs;      /* 0: the board's table size */
    uint32_t max_alloc_bytes; /* 0: unlimited */
    uint32_t default_call_ms;
    uint32_t max_call_ms;
    uint32_t reset_reason;
    uint8_t secret[64];
    uint32_t secret_len; /* 0: authentication off */
} board_options_t;

void board_read_options(board_options_t *opts);

/*
 * Emulator options: the launcher writes an options block to a file and QEMU's generic loader
 * places it at BOARD_OPTIONS_ADDR (-device loader,file=...,addr=...,force-raw=on) before the
 * firmware starts. Without a block (magic missing) the defaults hold.
 * Layout (little-endian u32 words): magic "P4JO", version 1, icount, max_allocs, max_alloc_bytes,
 * default_call_ms, max_call_ms, secret_len, then 64 secret bytes.
 */
#include <string.h>

#include "board.h"

#define OPTIONS_MAGIC 0x4f4a3450u /* "P4JO" */

typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t icount;
    uint32_t max_allocs;
    uint32_t max_alloc_bytes;
    uint32_t default_call_ms;
    uint32_t max_call_ms;
    uint32_t secret_len;
    uint8_t secret[64];
} options_block_t;

void board_read_options(board_options_t *o)
{
    const volatile options_block_t *b = (const volatile options_block_t *)(uintptr_t)BOARD_OPTIONS_ADDR;
    memset(o, 0, sizeof *o);
    o->default_call_ms = 2000;
    o->max_call_ms = 600000;
    o->reset_reason = 1; /* power-on */
    if (b->magic != OPTIONS_MAGIC || b->version != 1) {
        return;
    }
    o->icount = b->icount;
    o->max_allocs = b->max_allocs;
    o->max_alloc_bytes = b->max_alloc_bytes;
    if (b->default_call_ms != 0) {
        o->default_call_ms = b->default_call_ms;
    }
    if (b->max_call_ms != 0) {
        o->max_call_ms = b->max_call_ms;
    }
    if (o->default_call_ms > o->max_call_ms) {
        o->default_call_ms = o->max_call_ms;
    }
    o->secret_len = b->secret_len <= sizeof o->secret ? b->secret_len : sizeof o->secret;
    for (uint32_t i = 0; i < o->secret_len; i++) {
        o->secret[i] = b->secret[i];
    }
}

/*
 * A small first-fit allocator with coalescing, for boards without ESP-IDF's heap (the emulated
 * ESP32-P4 and the host test build). Works on 32-bit device addresses so the host build can place
 * a region anywhere in its own address space (up to the very top of it).
 *
 * Its bookkeeping is out of band: a table of block descriptors in memory the caller provides
 * (firmware data, never the region itself), so code that writes past its buffers can damage
 * other buffers but never the allocator.
 */
#pragma once

#include <stdint.h>

#include "jit_protocol.h"

/* the caps ESP-IDF's heap gives the ESP32-P4's regions; boards built on this allocator use them */
#define JIT_HEAP_P4_PSRAM_CAPS \
    (JIT_CAP_MALLOC_SPIRAM | JIT_CAP_MALLOC_8BIT | JIT_CAP_MALLOC_32BIT | JIT_CAP_MALLOC_EXEC | JIT_CAP_MALLOC_DEFAULT)
#define JIT_HEAP_P4_INTERNAL_CAPS                                                                                      \
    (JIT_CAP_MALLOC_INTERNAL | JIT_CAP_MALLOC_8BIT | JIT_CAP_MALLOC_32BIT | JIT_CAP_MALLOC_DMA | JIT_CAP_MALLOC_EXEC | \
     JIT_CAP_MALLOC_DEFAULT)

/** Granule of the allocator: every block starts and ends on it. */
#define JIT_HEAP_GRANULE 16u

/** One block: [off, off + size) of the region, free or in use. */
typedef struct {
    uint32_t off;
    uint32_t size;
    uint32_t used;
} jit_heap_block_t;

/** Descriptors a region needs to serve n live allocations whatever their alignment. */
#define JIT_HEAP_BLOCKS_FOR(n) (2u * (n) + 1u)

typedef struct {
    uint32_t dev_base; /* device address of the first byte */
    uint8_t *mem;      /* where that byte is in this program's memory */
    uint32_t size;
    uint32_t caps; /* ESP-IDF MALLOC_CAP_* bits the region answers */
    uint32_t free_bytes;
    jit_heap_block_t *blocks; /* sorted by offset, tiling the region */
    uint32_t nblocks;
    uint32_t max_blocks;
} jit_heap_region_t;

/**
 * dev_base + size must not exceed 2^32; size must hold at least one granule; blocks holds
 * max_blocks descriptors (at least 1; JIT_HEAP_BLOCKS_FOR(live allocations) never runs out).
 */
void jit_heap_init(jit_heap_region_t *r, uint32_t dev_base, uint8_t *mem, uint32_t size, uint32_t caps,
                   jit_heap_block_t *blocks, uint32_t max_blocks);
/** Device address of size bytes aligned to align (a power of two), 0 when nothing fits. */
uint32_t jit_heap_alloc(jit_heap_region_t *r, uint32_t size, uint32_t align);
/** Releases an address jit_heap_alloc returned; returns 0, or -1 when addr is not one. */
int jit_heap_free(jit_heap_region_t *r, uint32_t addr);
/** True when addr lies in the region. */
int jit_heap_owns(const jit_heap_region_t *r, uint32_t addr);
/** Usable bytes of the live block that starts at addr, 0 when addr is not one. */
uint32_t jit_heap_block_size(const jit_heap_region_t *r, uint32_t addr);
/**
 * Walks every descriptor: the blocks must tile the region in order, on granules, never leave
 * two free blocks side by side, and their free ones add up to free_bytes. Returns 0 when all
 * holds (tests and fuzzing).
 */
int jit_heap_check(const jit_heap_region_t *r);

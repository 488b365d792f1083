/*
 * Blocks are descriptors in a sorted array outside the region (see jit_heap.h): the region holds
 * nothing but the users' bytes. Free neighbours are merged at once, so a region with nothing
 * allocated is one block again and reports its starting free figure exactly.
 * Blocks are handled by their offset in the region, never by device address, so no sum can wrap
 * even for a region that ends at 2^32.
 */
#include "jit_heap.h"

#include <string.h>

#define G JIT_HEAP_GRANULE

void jit_heap_init(jit_heap_region_t *r, uint32_t dev_base, uint8_t *mem, uint32_t size, uint32_t caps,
                   jit_heap_block_t *blocks, uint32_t max_blocks)
{
    /* start and end on granules so every block is aligned to one */
    uint32_t skip = (G - (dev_base & (G - 1u))) & (G - 1u);
    r->dev_base = dev_base + skip;
    r->mem = mem + skip;
    r->size = (size - skip) & ~(G - 1u);
    r->caps = caps;
    r->blocks = blocks;
    r->max_blocks = max_blocks;
    r->nblocks = 1;
    blocks[0] = (jit_heap_block_t){.off = 0, .size = r->size, .used = 0};
    r->free_bytes = r->size;
}

int jit_heap_owns(const jit_heap_region_t *r, uint32_t addr)
{
    return addr >= r->dev_base && addr - r->dev_base < r->size;
}

/* Makes room for a descriptor at index i (the caller checked there is room). */
static void insert_at(jit_heap_region_t *r, uint32_t i, uint32_t off, uint32_t size, uint32_t used)
{
    memmove(&r->blocks[i + 1], &r->blocks[i], (r->nblocks - i) * sizeof r->blocks[0]);
    r->blocks[i] = (jit_heap_block_t){.off = off, .size = size, .used = used};
    r->nblocks++;
}

static void remove_at(jit_heap_region_t *r, uint32_t i)
{
    memmove(&r->blocks[i], &r->blocks[i + 1], (r->nblocks - i - 1) * sizeof r->blocks[0]);
    r->nblocks--;
}

uint32_t jit_heap_alloc(jit_heap_region_t *r, uint32_t size, uint32_t align)
{
    if (size == 0 || size > r->size) {
        return 0;
    }
    if (align < G) {
        align = G;
    }
    uint32_t need = (size + G - 1u) & ~(G - 1u);
    for (uint32_t i = 0; i < r->nblocks; i++) {
        jit_heap_block_t b = r->blocks[i];
        if (b.used || need > b.size) {
            continue;
        }
        uint64_t dev = ((uint64_t)r->dev_base + b.off + align - 1u) & ~(uint64_t)(align - 1u);
        uint64_t lead = dev - r->dev_base - b.off;
        if (lead + need > b.size) {
            continue;
        }
        uint32_t tail = b.size - (uint32_t)lead - need;
        if (r->nblocks + (lead != 0) + (tail != 0) > r->max_blocks) {
            return 0; /* no descriptor left: refuse rather than lose track of memory */
        }
        uint32_t at = i;
        if (lead != 0) { /* the part before the aligned start stays free */
            r->blocks[i].size = (uint32_t)lead;
            insert_at(r, ++at, b.off + (uint32_t)lead, need, 1);
        } else {
            r->blocks[i] = (jit_heap_block_t){.off = b.off, .size = need, .used = 1};
        }
        if (tail != 0) {
            insert_at(r, at + 1, b.off + (uint32_t)lead + need, tail, 0);
        }
        r->free_bytes -= need;
        return r->dev_base + b.off + (uint32_t)lead;
    }
    return 0;
}

/* Index of the live block that starts at addr, or UINT32_MAX. */
static uint32_t live_block(const jit_heap_region_t *r, uint32_t addr)
{
    if (!jit_heap_owns(r, addr)) {
        return UINT32_MAX;
    }
    uint32_t off = addr - r->dev_base;
    uint32_t lo = 0, hi = r->nblocks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->blocks[mid].off < off) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == r->nblocks || r->blocks[lo].off != off || !r->blocks[lo].used) {
        return UINT32_MAX;
    }
    return lo;
}

uint32_t jit_heap_block_size(const jit_heap_region_t *r, uint32_t addr)
{
    uint32_t i = live_block(r, addr);
    return i == UINT32_MAX ? 0 : r->blocks[i].size;
}

int jit_heap_free(jit_heap_region_t *r, uint32_t addr)
{
    uint32_t i = live_block(r, addr);
    if (i == UINT32_MAX) {
        return -1;
    }
    r->free_bytes += r->blocks[i].size;
    r->blocks[i].used = 0;
    if (i + 1 < r->nblocks && !r->blocks[i + 1].used) { /* merge with the next block */
        r->blocks[i].size += r->blocks[i + 1].size;
        remove_at(r, i + 1);
    }
    if (i > 0 && !r->blocks[i - 1].used) { /* and with the previous one */
        r->blocks[i - 1].size += r->blocks[i].size;
        remove_at(r, i);
    }
    return 0;
}

int jit_heap_check(const jit_heap_region_t *r)
{
    uint32_t off = 0, free_bytes = 0;
    int prev_free = 0;
    if (r->nblocks == 0 || r->nblocks > r->max_blocks) {
        return -1;
    }
    for (uint32_t i = 0; i < r->nblocks; i++) {
        const jit_heap_block_t *b = &r->blocks[i];
        if (b->off != off || b->size == 0 || (b->size & (G - 1u)) != 0 || b->size > r->size - off || b->used > 1 ||
            (!b->used && prev_free)) {
            return -1;
        }
        if (!b->used) {
            free_bytes += b->size;
        }
        prev_free = !b->used;
        off += b->size;
    }
    return off == r->size && free_bytes == r->free_bytes ? 0 : -1;
}

/*
 * Block layout: a 16-byte header {size, prev_size, flags, magic} then the payload. size counts the
 * header; blocks tile the region, so the next block is at off+size and the previous at
 * off-prev_size. Free neighbours are merged at once, so a region with nothing allocated is one
 * block again and reports its starting free figure exactly.
 * Blocks are handled by their offset in the region, never by device address, so no sum can wrap
 * even for a region that ends at 2^32.
 */
#include "jit_heap.h"

#include <stddef.h>

#define HDR 16u
#define MIN_BLOCK 32u
#define FLAG_FREE 1u
#define MAGIC 0x4a495448u /* "JITH" */

typedef struct {
    uint32_t size;
    uint32_t prev_size;
    uint32_t flags;
    uint32_t magic;
} hdr_t;

static hdr_t *H(const jit_heap_region_t *r, uint32_t off)
{
    return (hdr_t *)(void *)(r->mem + off);
}

static void set_block(jit_heap_region_t *r, uint32_t off, uint32_t size, uint32_t prev_size, uint32_t flags)
{
    hdr_t *h = H(r, off);
    h->size = size;
    h->prev_size = prev_size;
    h->flags = flags;
    h->magic = MAGIC;
    if (size < r->size - off) {
        H(r, off + size)->prev_size = size;
    }
}

void jit_heap_init(jit_heap_region_t *r, uint32_t dev_base, uint8_t *mem, uint32_t size, uint32_t caps)
{
    /* start and end on 16-byte boundaries so every payload is 16-aligned */
    uint32_t skip = (16u - (dev_base & 15u)) & 15u;
    r->dev_base = dev_base + skip;
    r->mem = mem + skip;
    r->size = (size - skip) & ~15u;
    r->caps = caps;
    set_block(r, 0, r->size, 0, FLAG_FREE);
    r->free_bytes = r->size - HDR;
}

int jit_heap_owns(const jit_heap_region_t *r, uint32_t addr)
{
    return addr >= r->dev_base && addr - r->dev_base < r->size;
}

uint32_t jit_heap_alloc(jit_heap_region_t *r, uint32_t size, uint32_t align)
{
    if (size == 0 || size > r->size) {
        return 0;
    }
    if (align < HDR) {
        align = HDR;
    }
    uint32_t need = (size + 15u) & ~15u;
    for (uint32_t b = 0; b < r->size; b += H(r, b)->size) {
        hdr_t *h = H(r, b);
        if (!(h->flags & FLAG_FREE) || need > h->size - HDR) {
            continue;
        }
        /* payload at the first aligned address that leaves room for a leading free block or none */
        uint64_t dev_payload = ((uint64_t)r->dev_base + b + HDR + align - 1) & ~(uint64_t)(align - 1);
        uint64_t start = dev_payload - r->dev_base - HDR; /* offset of the block to hand out */
        while (start != b && start - b < MIN_BLOCK) {
            start += align;
        }
        uint64_t block_end = (uint64_t)b + h->size;
        if (start + HDR + need > block_end) {
            continue;
        }
        if (start != b) { /* split off the leading part as its own free block */
            uint32_t lead = (uint32_t)start - b;
            set_block(r, b, lead, h->prev_size, FLAG_FREE);
            set_block(r, (uint32_t)start, (uint32_t)(block_end - start), lead, FLAG_FREE);
            r->free_bytes -= HDR; /* one more header */
        }
        hdr_t *s = H(r, (uint32_t)start);
        uint32_t total = s->size;
        uint32_t used = HDR + need;
        if (total - used >= MIN_BLOCK) {
            set_block(r, (uint32_t)start, used, s->prev_size, 0);
            set_block(r, (uint32_t)start + used, total - used, used, FLAG_FREE);
            r->free_bytes -= need + HDR;
        } else {
            set_block(r, (uint32_t)start, total, s->prev_size, 0);
            r->free_bytes -= total - HDR;
        }
        return r->dev_base + (uint32_t)start + HDR;
    }
    return 0;
}

/* Offset of the live block whose payload is at addr, or UINT32_MAX. */
static uint32_t live_block(const jit_heap_region_t *r, uint32_t addr)
{
    if (!jit_heap_owns(r, addr) || addr - r->dev_base < HDR || ((addr - r->dev_base) & 15u) != 0) {
        return UINT32_MAX;
    }
    uint32_t b = addr - r->dev_base - HDR;
    const hdr_t *h = H(r, b);
    if (h->magic != MAGIC || (h->flags & FLAG_FREE)) {
        return UINT32_MAX;
    }
    return b;
}

uint32_t jit_heap_block_size(const jit_heap_region_t *r, uint32_t addr)
{
    uint32_t b = live_block(r, addr);
    return b == UINT32_MAX ? 0 : H(r, b)->size - HDR;
}

int jit_heap_free(jit_heap_region_t *r, uint32_t addr)
{
    uint32_t b = live_block(r, addr);
    if (b == UINT32_MAX) {
        return -1;
    }
    hdr_t *h = H(r, b);
    uint32_t size = h->size, prev = h->prev_size;
    r->free_bytes += size - HDR;
    /* merge with the next block */
    if (size < r->size - b && (H(r, b + size)->flags & FLAG_FREE)) {
        H(r, b + size)->magic = 0;
        size += H(r, b + size)->size;
        r->free_bytes += HDR;
    }
    /* merge with the previous block */
    if (b != 0 && (H(r, b - prev)->flags & FLAG_FREE)) {
        h->magic = 0;
        b -= prev;
        size += H(r, b)->size;
        r->free_bytes += HDR;
    }
    set_block(r, b, size, H(r, b)->prev_size, FLAG_FREE);
    return 0;
}

int jit_heap_check(const jit_heap_region_t *r)
{
    uint32_t prev_size = 0, prev_free = 0, free_bytes = 0;
    uint32_t b = 0;
    while (b < r->size) {
        const hdr_t *h = H(r, b);
        if (h->magic != MAGIC || h->size < MIN_BLOCK || (h->size & 15u) != 0 || h->size > r->size - b ||
            h->prev_size != prev_size) {
            return -1;
        }
        uint32_t is_free = h->flags & FLAG_FREE;
        if (h->flags & ~FLAG_FREE || (is_free && prev_free)) {
            return -1;
        }
        if (is_free) {
            free_bytes += h->size - HDR;
        }
        prev_free = is_free;
        prev_size = h->size;
        b += h->size;
    }
    return b == r->size && free_bytes == r->free_bytes ? 0 : -1;
}

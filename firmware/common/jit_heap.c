/*
 * Block layout: a 16-byte header {size, prev_size, flags, magic} then the payload. size counts the
 * header; blocks tile the region, so the next block is at addr+size and the previous at
 * addr-prev_size. Free neighbours are merged at once, so a region with nothing allocated is one
 * block again and reports its starting free figure exactly.
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

static hdr_t *H(const jit_heap_region_t *r, uint32_t addr)
{
    return (hdr_t *)(void *)(r->mem + (addr - r->dev_base));
}

static uint32_t end_of(const jit_heap_region_t *r)
{
    return r->dev_base + r->size;
}

static void set_block(jit_heap_region_t *r, uint32_t addr, uint32_t size, uint32_t prev_size, uint32_t flags)
{
    hdr_t *h = H(r, addr);
    h->size = size;
    h->prev_size = prev_size;
    h->flags = flags;
    h->magic = MAGIC;
    if (addr + size < end_of(r)) {
        H(r, addr + size)->prev_size = size;
    }
}

void jit_heap_init(jit_heap_region_t *r, uint32_t dev_base, uint8_t *mem, uint32_t size, uint32_t caps)
{
    /* start and end on 16-byte boundaries so every payload is 16-aligned */
    uint32_t start = (dev_base + 15u) & ~15u;
    mem += start - dev_base;
    size = (size - (start - dev_base)) & ~15u;
    r->dev_base = start;
    r->mem = mem;
    r->size = size;
    r->caps = caps;
    set_block(r, start, size, 0, FLAG_FREE);
    r->free_bytes = size - HDR;
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
    for (uint32_t b = r->dev_base; b < end_of(r); b += H(r, b)->size) {
        hdr_t *h = H(r, b);
        if (!(h->flags & FLAG_FREE) || h->size < need + HDR) {
            continue;
        }
        /* payload at the first aligned address that leaves room for a leading free block or none */
        uint32_t payload = (b + HDR + align - 1) & ~(align - 1);
        while (payload - HDR != b && payload - HDR - b < MIN_BLOCK) {
            payload += align;
        }
        uint32_t start = payload - HDR;
        uint32_t block_end = b + h->size;
        if (start + HDR + need > block_end || start + HDR + need < start) {
            continue;
        }
        if (start != b) { /* split off the leading part as its own free block */
            uint32_t lead = start - b;
            set_block(r, b, lead, h->prev_size, FLAG_FREE);
            set_block(r, start, block_end - start, lead, FLAG_FREE);
            r->free_bytes -= HDR; /* one more header */
        }
        hdr_t *s = H(r, start);
        uint32_t total = s->size;
        uint32_t used = HDR + need;
        if (total - used >= MIN_BLOCK) {
            set_block(r, start, used, s->prev_size, 0);
            set_block(r, start + used, total - used, used, FLAG_FREE);
            r->free_bytes -= need + HDR;
        } else {
            set_block(r, start, total, s->prev_size, 0);
            r->free_bytes -= total - HDR;
        }
        return payload;
    }
    return 0;
}

int jit_heap_free(jit_heap_region_t *r, uint32_t addr)
{
    if (!jit_heap_owns(r, addr) || addr - r->dev_base < HDR || (addr & 15u) != 0) {
        return -1;
    }
    uint32_t b = addr - HDR;
    hdr_t *h = H(r, b);
    if (h->magic != MAGIC || (h->flags & FLAG_FREE)) {
        return -1;
    }
    uint32_t size = h->size, prev = h->prev_size;
    r->free_bytes += size - HDR;
    /* merge with the next block */
    uint32_t next = b + size;
    if (next < end_of(r) && (H(r, next)->flags & FLAG_FREE)) {
        size += H(r, next)->size;
        H(r, next)->magic = 0;
        r->free_bytes += HDR;
    }
    /* merge with the previous block */
    if (b != r->dev_base && (H(r, b - prev)->flags & FLAG_FREE)) {
        uint32_t p = b - prev;
        h->magic = 0;
        size += H(r, p)->size;
        b = p;
        r->free_bytes += HDR;
    }
    set_block(r, b, size, H(r, b)->prev_size, FLAG_FREE);
    return 0;
}

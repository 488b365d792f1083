/*
 * Guard bytes: every allocation gets guard_size bytes (rounded up to its alignment in front)
 * on both sides, filled with a pattern and checked after each EXEC and CALL, so code that writes
 * past a buffer is reported by the call that did it, naming the buffer, instead of surfacing later
 * as a corrupted heap. The pattern changes from byte to byte: a fill with any one value leaves
 * at most one byte in 256 unchanged, and the extent found is the farthest damaged byte.
 */
#include "jit_guard.h"

#include <string.h>

#include "jit_protocol.h"

static uint8_t pattern(uint32_t i)
{
    return (uint8_t)(0xd5u + 0x3bu * i);
}

uint32_t jit_guard_lead(const jit_core_t *core, uint32_t align)
{
    uint32_t g = core->cfg.guard_size;
    return (g + align - 1u) & ~(align - 1u);
}

static void fill(uint32_t addr, uint32_t len)
{
    uint8_t *p = jit_port_ptr(addr);
    for (uint32_t i = 0; i < len; i++) {
        p[i] = pattern(i);
    }
    jit_port_sync(addr, len, false); /* in memory, not only in a cache line an invalidation drops */
}

/* Index of the first damaged byte (lowest) and one past the last damaged byte; 0, 0 when intact. */
static void damage(uint32_t addr, uint32_t len, uint32_t *first, uint32_t *end)
{
    const uint8_t *p = jit_port_ptr(addr);
    *first = *end = 0;
    bool any = false;
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] != pattern(i)) {
            if (!any) {
                *first = i;
                any = true;
            }
            *end = i + 1;
        }
    }
}

void jit_guard_arm(const jit_core_t *core, const jit_alloc_entry_t *e)
{
    if (core->cfg.guard_size == 0) {
        return;
    }
    fill(e->addr - e->lead, e->lead);
    fill(e->addr + e->size, core->cfg.guard_size);
}

uint32_t jit_guard_check(jit_core_t *core, uint32_t rec[JIT_OVERRUN_WORDS])
{
    uint32_t g = core->cfg.guard_size, hit = 0;
    if (g == 0) {
        return 0;
    }
    for (uint32_t i = 0; i < core->cfg.max_allocs; i++) {
        const jit_alloc_entry_t *e = &core->cfg.table[i];
        if (e->size == 0) {
            continue;
        }
        uint32_t lead_first, lead_end, tail_first, tail_end;
        damage(e->addr - e->lead, e->lead, &lead_first, &lead_end);
        damage(e->addr + e->size, g, &tail_first, &tail_end);
        if (lead_end == 0 && tail_end == 0) {
            continue;
        }
        if (hit++ == 0 || e->addr < rec[0]) {
            rec[0] = e->addr;
            rec[1] = e->size;
            rec[2] = lead_end ? e->lead - lead_first : 0;
            rec[3] = tail_end;
        }
        jit_guard_arm(core, e);
    }
    if (hit != 0) {
        rec[4] = hit;
    }
    return hit;
}

/*
 * Shadow allocation table: every address the host may touch lies inside an entry of it.
 * Range checks are written so that no sum can overflow 32 bits.
 */
#include "jit_alloc_table.h"

#include "jit_protocol.h"

const jit_alloc_entry_t *jit_table_find(const jit_core_t *core, uint32_t addr, uint32_t len)
{
    for (uint32_t i = 0; i < core->cfg.max_allocs; i++) {
        const jit_alloc_entry_t *e = &core->cfg.table[i];
        if (e->size == 0 || addr < e->addr) {
            continue;
        }
        uint32_t offset = addr - e->addr;
        if (offset < e->size && len <= e->size - offset) {
            return e;
        }
        if (offset == e->size && len == 0) {
            return e; /* an empty range at the very end is still inside */
        }
    }
    return NULL;
}

uint32_t jit_table_add(jit_core_t *core, uint32_t addr, uint32_t size, uint32_t caps, uint32_t lead)
{
    for (uint32_t i = 0; i < core->cfg.max_allocs; i++) {
        jit_alloc_entry_t *e = &core->cfg.table[i];
        if (e->size == 0) {
            e->addr = addr;
            e->size = size;
            e->caps = caps;
            e->lead = lead;
            core->alloc_count++;
            core->alloc_bytes += size;
            return JIT_ERR_OK;
        }
    }
    return JIT_ERR_TABLE_FULL;
}

uint32_t jit_table_remove(jit_core_t *core, uint32_t addr, uint32_t *block)
{
    for (uint32_t i = 0; i < core->cfg.max_allocs; i++) {
        jit_alloc_entry_t *e = &core->cfg.table[i];
        if (e->size != 0 && e->addr == addr) {
            core->alloc_count--;
            core->alloc_bytes -= e->size;
            if (block != NULL) {
                *block = e->addr - e->lead;
            }
            e->size = 0;
            e->lead = 0;
            e->addr = 0;
            e->caps = 0;
            return JIT_ERR_OK;
        }
    }
    return JIT_ERR_NOT_ALLOCATED;
}

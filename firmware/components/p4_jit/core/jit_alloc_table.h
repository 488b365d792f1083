/* Shadow allocation table of the P4-JIT core (internal). */
#pragma once

#include "jit_core.h"

/** The live entry holding [addr, addr+len), or NULL. */
const jit_alloc_entry_t *jit_table_find(const jit_core_t *core, uint32_t addr, uint32_t len);
/** JIT_ERR_OK or JIT_ERR_TABLE_FULL. lead: guard bytes in front of addr (0 in tests). */
uint32_t jit_table_add(jit_core_t *core, uint32_t addr, uint32_t size, uint32_t caps, uint32_t lead);
/**
 * JIT_ERR_OK, or JIT_ERR_NOT_ALLOCATED when addr is not the start of a live entry. *block (may be
 * NULL) gets the port's address of the block, guards included.
 */
uint32_t jit_table_remove(jit_core_t *core, uint32_t addr, uint32_t *block);

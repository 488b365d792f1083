/* Guard bytes around every allocation of the P4-JIT core (internal). */
#pragma once

#include "jit_core.h"
#include "jit_protocol.h"

/** Guard bytes in front of an allocation aligned to align: a whole number of aligns. */
uint32_t jit_guard_lead(const jit_core_t *core, uint32_t align);
/** Writes the guards of e (before e->addr and after its last byte). */
void jit_guard_arm(const jit_core_t *core, const jit_alloc_entry_t *e);
/**
 * Checks every live allocation's guards and re-arms the damaged ones. Returns how many were
 * damaged; when any, rec gets JIT_OVERRUN_WORDS words about the lowest-addressed one (where an
 * overrun running upwards began): address, size, how far before its start and how far past its
 * end the damage reaches (within the guards), the number of allocations damaged.
 */
uint32_t jit_guard_check(jit_core_t *core, uint32_t rec[JIT_OVERRUN_WORDS]);

/*
 * Tests of the guard bytes around every allocation and of the allocator's out-of-band
 * bookkeeping: JIT code that writes past a buffer is reported by the call that did it, naming the
 * buffer, and the device goes on with an exact heap.
 */
#include <string.h>

#include "jit_alloc_table.h"
#include "test_util.h"

#define GUARD 32u

/* Code that stores byte at [addr, addr + n), then returns 7 (or faults when told). */
static uint32_t load_fill(uint32_t addr, uint32_t n, uint8_t byte, bool then_fault)
{
    code_t c = {.n = 0};
    op(&c, PC_OP_FILL);
    op(&c, addr);
    op(&c, n);
    op(&c, byte);
    if (then_fault) {
        op(&c, PC_OP_FAULT);
        op(&c, 2);
        op(&c, 0xdead);
    } else {
        op(&c, PC_OP_RET);
        op(&c, 7);
        op(&c, 0);
    }
    return load(&c, JIT_CAP_MALLOC_EXEC);
}

/* Checks an overrun record (5 words at p). */
static void check_record(const uint8_t *p, uint32_t addr, uint32_t size, uint32_t before, uint32_t after,
                         uint32_t count)
{
    CHECK_EQ(get32(p), addr);
    CHECK_EQ(get32(p + 4), size);
    CHECK_EQ(get32(p + 8), before);
    CHECK_EQ(get32(p + 12), after);
    CHECK_EQ(get32(p + 16), count);
}

static void check_heap_exact(const uint32_t start[4])
{
    uint32_t now[4];
    CHECK_EQ(jit_heap_check(pc_port_region(0)), 0);
    CHECK_EQ(jit_heap_check(pc_port_region(1)), 0);
    heap_info(now);
    CHECK_MEM(now, start, 4 * sizeof now[0]);
}

static void test_writes_inside_pass(void)
{
    uint32_t buf = alloc_ok(100, 0, 0);
    reply_t r = exec_at(load_fill(buf, 100, 0xab, false));
    if (is_ok(r, JIT_CMD_EXEC, 4)) {
        CHECK_EQ(get32(r.payload), 7);
    }
}

static void test_overrun_by_one_byte_reported(void)
{
    opt_in(JIT_FEATURES_ALL); /* the records are detail words */
    uint32_t start[4];
    heap_info(start);
    uint32_t buf = alloc_ok(100, 0, 0);
    uint32_t code = load_fill(buf, 101, 0, false);
    reply_t r = exec_at(code);
    CHECK_EQ(err_of(r), JIT_ERR_OVERRUN);
    if (CHECK_EQ(r.len, 4 + 4 * JIT_OVERRUN_WORDS)) {
        check_record(r.payload + 4, buf, 100, 0, 1, 1);
    }
    /* the guard is whole again: a call that stays inside passes */
    uint32_t ok = load_fill(buf, 100, 0, false);
    CHECK(is_ok(exec_at(ok), JIT_CMD_EXEC, 4));
    CHECK_EQ(free_addr(buf), 0);
    CHECK_EQ(free_addr(code), 0);
    CHECK_EQ(free_addr(ok), 0);
    check_heap_exact(start);
}

/* Any value, also one byte of the pattern's: the farthest damaged byte is what counts. */
static void test_extent_within_guard_is_exact(void)
{
    opt_in(JIT_FEATURES_ALL); /* the records are detail words */
    uint32_t buf = alloc_ok(64, 0, 0);
    for (uint32_t byte = 0; byte < 256; byte += 51) {
        reply_t r = exec_at(load_fill(buf + 64, 20, (uint8_t)byte, false));
        CHECK_EQ(err_of(r), JIT_ERR_OVERRUN);
        if (CHECK_EQ(r.len, 24)) {
            check_record(r.payload + 4, buf, 64, 0, 20, 1);
        }
        jit_core_release_all(&g_core);
        buf = alloc_ok(64, 0, 0);
    }
}

/* Past the guard into the next allocation: the lowest one (where it started) is named. */
static void test_overrun_into_neighbour_names_the_first(void)
{
    opt_in(JIT_FEATURES_ALL); /* the records are detail words */
    uint32_t first = alloc_ok(48, JIT_CAP_MALLOC_INTERNAL, 0), second = alloc_ok(48, JIT_CAP_MALLOC_INTERNAL, 0);
    CHECK(second > first);
    uint32_t code = load_fill(first, second - first + 8, 0x11, false);
    reply_t r = call_at(code, 0, NULL, 0);
    CHECK_EQ(err_of(r), JIT_ERR_OVERRUN);
    if (CHECK_EQ(r.len, 24)) {
        check_record(r.payload + 4, first, 48, 0, GUARD, 2);
    }
    /* the second one's data was overwritten but its table entry and the heap are intact */
    reply_t rd = request(JIT_CMD_LIST_ALLOCS, NULL, 0);
    CHECK(is_ok(rd, JIT_CMD_LIST_ALLOCS, 4 + 3 * 12));
    CHECK_EQ(jit_heap_check(pc_port_region(1)), 0);
}

static void test_underrun_reported(void)
{
    opt_in(JIT_FEATURES_ALL); /* the records are detail words */
    uint32_t buf = alloc_ok(40, 0, 64);
    reply_t r = exec_at(load_fill(buf - 3, 3, 0, false));
    CHECK_EQ(err_of(r), JIT_ERR_OVERRUN);
    if (CHECK_EQ(r.len, 24)) {
        check_record(r.payload + 4, buf, 40, 3, 0, 1);
    }
}

/* A fault (or a time-out) after an overrun: the fault's detail, then the overrun's record. */
static void test_fault_after_overrun_carries_both(void)
{
    opt_in(JIT_FEATURES_ALL); /* the records are detail words */
    uint32_t buf = alloc_ok(16, 0, 0);
    uint32_t code = load_fill(buf, 16 + 5, 0, true);
    reply_t r = exec_at(code);
    CHECK_EQ(err_of(r), JIT_ERR_FAULT);
    if (CHECK_EQ(r.len, 4 + 12 + 4 * JIT_OVERRUN_WORDS)) {
        CHECK_EQ(get32(r.payload + 4), 2);
        CHECK_EQ(get32(r.payload + 12), 0xdead);
        check_record(r.payload + 16, buf, 16, 0, 5, 1);
    }
    /* a fault alone keeps its seed-era detail of three words */
    r = exec_at(load_fill(buf, 16, 0, true));
    CHECK_EQ(err_of(r), JIT_ERR_FAULT);
    CHECK_EQ(r.len, 16);
}

/* Guards are invisible to the host: reads and writes stop at the allocation's bounds. */
/* A host that did not ask for detail words gets OVERRUN as one code; LAST_FAULT has the record. */
static void test_overrun_for_seed_host_is_one_code(void)
{
    uint32_t buf = alloc_ok(16, 0, 0);
    uint32_t code = load_fill(buf, 16 + 2, 0, false);
    reply_t r = exec_at(code);
    CHECK_EQ(err_of(r), JIT_ERR_OVERRUN);
    CHECK_EQ(r.len, 4);
    r = request(JIT_CMD_LAST_FAULT, NULL, 0);
    if (is_ok(r, JIT_CMD_LAST_FAULT, JIT_LAST_FAULT_SIZE)) {
        CHECK_EQ(get32(r.payload), JIT_ERR_OVERRUN);
        CHECK_EQ(get32(r.payload + 4), code);
        check_record(r.payload + 20, buf, 16, 0, 2, 1);
    }
}

static void test_guards_not_reachable_by_host(void)
{
    uint32_t buf = alloc_ok(32, 0, 0);
    uint8_t data[8] = {0};
    CHECK_EQ(err_of(request(JIT_CMD_READ_MEM, (uint8_t[8]){0}, 0)), JIT_ERR_BAD_LENGTH);
    uint8_t p[12];
    put32(p, buf + 32);
    memcpy(p + 4, data, 8);
    CHECK_EQ(err_of(request(JIT_CMD_WRITE_MEM, p, 12)), JIT_ERR_NOT_ALLOCATED);
    put32(p, buf - 4);
    put32(p + 4, 4);
    CHECK_EQ(err_of(request(JIT_CMD_READ_MEM, p, 8)), JIT_ERR_NOT_ALLOCATED);
}

/* Alignment holds with the front guard: the guard is a whole number of aligns. */
static void test_alignment_kept(void)
{
    const uint32_t aligns[] = {4, 16, 64, 256, 4096};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        uint32_t a = alloc_ok(10, 0, aligns[i]);
        CHECK_EQ(a % aligns[i], 0);
        const jit_alloc_entry_t *e = jit_table_find(&g_core, a, 0);
        CHECK_EQ(e->lead, aligns[i] > GUARD ? aligns[i] : GUARD);
    }
}

/*
 * What the heap's own bookkeeping survives: code that writes over every byte of free memory
 * (where a heap with inline headers keeps them) leaves allocation and freeing exact.
 */
static void test_heap_bookkeeping_out_of_reach(void)
{
    uint32_t start[4];
    heap_info(start);
    uint32_t code = load_fill(0, 0, 0, false);
    uint32_t a = alloc_ok(100, 0, 0), b = alloc_ok(5000, 0, 0);
    CHECK_EQ(free_addr(a), 0); /* a hole between the code and b */
    jit_heap_region_t *r = pc_port_region(0);
    for (uint32_t i = 0; i < r->nblocks; i++) {
        if (!r->blocks[i].used) {
            memset(r->mem + r->blocks[i].off, 0xab, r->blocks[i].size);
        }
    }
    CHECK_EQ(jit_heap_check(r), 0);
    const uint32_t sizes[] = {100, 5000, 20000, 100};
    uint32_t got[4];
    for (int i = 0; i < 4; i++) {
        got[i] = alloc_ok(sizes[i], 0, 0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(free_addr(got[i]), 0);
    }
    CHECK_EQ(free_addr(b), 0);
    CHECK_EQ(free_addr(code), 0);
    check_heap_exact(start);
}

static void test_no_guards_when_off(void)
{
    fx_options_t o = fx_defaults();
    o.guard_size = 0;
    fx_setup(&o);
    uint32_t buf = alloc_ok(16, 0, 0);
    CHECK(is_ok(exec_at(load_fill(buf, 24, 0, false)), JIT_CMD_EXEC, 4));
}

static void test_boot_id_in_info(void)
{
    reply_t r = request(JIT_CMD_INFO, NULL, 0);
    uint32_t first = 0;
    if (is_ok(r, JIT_CMD_INFO, JIT_INFO_SIZE)) {
        first = get32(r.payload + 112);
        CHECK(first != 0);
    }
    CHECK_EQ(get32(request(JIT_CMD_INFO, NULL, 0).payload + 112), first); /* stable while it runs */
    jit_port_random((uint8_t[4]){0}, 4);                                  /* a restart draws a new one */
    jit_core_init(&g_core, &g_core.cfg);
    r = request(JIT_CMD_INFO, NULL, 0);
    if (is_ok(r, JIT_CMD_INFO, JIT_INFO_SIZE)) {
        CHECK(get32(r.payload + 112) != first);
    }
}

const test_case_t guard_tests[] = {
    {"writes_inside_pass", test_writes_inside_pass},
    {"overrun_by_one_byte_reported", test_overrun_by_one_byte_reported},
    {"extent_within_guard_is_exact", test_extent_within_guard_is_exact},
    {"overrun_into_neighbour_names_the_first", test_overrun_into_neighbour_names_the_first},
    {"underrun_reported", test_underrun_reported},
    {"fault_after_overrun_carries_both", test_fault_after_overrun_carries_both},
    {"overrun_for_seed_host_is_one_code", test_overrun_for_seed_host_is_one_code},
    {"guards_not_reachable_by_host", test_guards_not_reachable_by_host},
    {"alignment_kept", test_alignment_kept},
    {"heap_bookkeeping_out_of_reach", test_heap_bookkeeping_out_of_reach},
    {"no_guards_when_off", test_no_guards_when_off},
    {"boot_id_in_info", test_boot_id_in_info},
};
const size_t guard_test_count = sizeof guard_tests / sizeof guard_tests[0];

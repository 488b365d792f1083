/* Tests of ALLOC, FREE, WRITE_MEM, READ_MEM, HEAP_INFO, LIST_ALLOCS, INFO and payload lengths. */
#include <stdlib.h>
#include <string.h>

#include "jit_alloc_table.h"
#include "jit_auth.h"
#include "test_util.h"

#define SPIRAM JIT_CAP_MALLOC_SPIRAM
#define INTERNAL JIT_CAP_MALLOC_INTERNAL
#define EXEC JIT_CAP_MALLOC_EXEC
#define DMA JIT_CAP_MALLOC_DMA
#define BIT8 JIT_CAP_MALLOC_8BIT
#define BIT32 JIT_CAP_MALLOC_32BIT
#define DEFAULT JIT_CAP_MALLOC_DEFAULT

static bool in_region(uint32_t addr, int which)
{
    return jit_heap_owns(pc_port_region(which), addr);
}

static void test_alloc_picks_region_by_caps(void)
{
    static const struct {
        uint32_t caps;
        int region; /* 0 PSRAM, 1 internal */
    } cases[] = {
        {0, 0},       {SPIRAM, 0},   {SPIRAM | BIT8, 0},   {EXEC | BIT8, 0}, {EXEC | BIT32 | SPIRAM, 0},
        {DEFAULT, 0}, {INTERNAL, 1}, {INTERNAL | EXEC, 1}, {DMA, 1},         {DMA | BIT8 | DEFAULT, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t a = alloc_ok(100, cases[i].caps, 0);
        if (!CHECK(in_region(a, cases[i].region))) {
            continue;
        }
        /* the heap's block starts at the front guard */
        uint32_t block = a - jit_table_find(&g_core, a, 0)->lead;
        CHECK_EQ(jit_heap_block_size(pc_port_region(cases[i].region), block) >= 100 + 2 * 32, 1);
        CHECK_EQ(free_addr(a), 0);
    }
    const uint32_t impossible[] = {SPIRAM | INTERNAL, SPIRAM | DMA, 1u << 19, 1u << 31, 0xffffffffu};
    for (size_t i = 0; i < sizeof impossible / sizeof impossible[0]; i++) {
        CHECK_EQ(alloc_fail(100, impossible[i], 0), JIT_ERR_ALLOC_FAIL);
    }
}

static void test_alloc_falls_back_to_internal(void)
{
    fx_options_t o = fx_defaults();
    o.port.psram_size = 4096;
    fx_setup(&o);
    CHECK(in_region(alloc_ok(6000, 0, 0), 1));
    CHECK(in_region(alloc_ok(1000, EXEC, 0), 0));
    CHECK_EQ(alloc_fail(6000, SPIRAM, 0), JIT_ERR_ALLOC_FAIL);
}

static void test_alloc_fail_seed_form(void)
{
    /* like the original: flags 01, address 0, error 3 */
    static const uint8_t want[] = {0xa5, 0x5a, 0x10, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x1b, 0x01};
    CHECK_EQ(alloc_fail(1u << 20, SPIRAM, 16), JIT_ERR_ALLOC_FAIL);
    size_t len;
    const uint8_t *out = pc_port_output(&len);
    CHECK_EQ(len, sizeof want);
    CHECK_MEM(out, want, sizeof want);
    CHECK_EQ(alloc_fail(0xffffffffu, 0, 0), JIT_ERR_ALLOC_FAIL);
}

static void test_alloc_seed_example_frame(void)
{
    static const uint8_t req[] = {0xa5, 0x5a, 0x10, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                                  0x00, 0x04, 0x04, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x43, 0x01};
    feed(req, sizeof req);
    reply_t r[2];
    CHECK_EQ(captured_frames(r, 2), 1);
    if (is_ok(r[0], JIT_CMD_ALLOC, 8)) {
        uint32_t a = get32(r[0].payload);
        CHECK_EQ(get32(r[0].payload + 4), 0);
        CHECK(in_region(a, 0));
        CHECK_EQ(a % 16, 0);
    }
}

static void test_alloc_alignment(void)
{
    const uint32_t aligns[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096};
    uint32_t live[8];
    size_t nlive = 0;
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        if (nlive == 6) { /* stay under the table size, keep some live to fragment the heap */
            CHECK_EQ(free_addr(live[--nlive]), 0);
        }
        uint32_t a = alloc_ok(24 + (uint32_t)i, i % 2 ? INTERNAL : SPIRAM, aligns[i]);
        CHECK_EQ(a % aligns[i], 0);
        live[nlive++] = a;
    }
    CHECK_EQ(alloc_ok(8, 0, 0) % 4, 0); /* 0 means 4 */
    const uint32_t bad[] = {3, 6, 12, 4097, 8192, 1u << 31, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(alloc_fail(16, 0, bad[i]), JIT_ERR_BAD_ALIGN);
    }
    CHECK_EQ(jit_heap_check(pc_port_region(0)), 0);
    CHECK_EQ(jit_heap_check(pc_port_region(1)), 0);
}

static void test_alloc_size_zero(void)
{
    CHECK_EQ(alloc_fail(0, 0, 0), JIT_ERR_BAD_ARGUMENT);
    CHECK_EQ(alloc_fail(0, SPIRAM, 3), JIT_ERR_BAD_ARGUMENT);
}

static void test_alloc_table_full(void)
{
    uint32_t a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = alloc_ok(16, 0, 0);
    }
    CHECK_EQ(alloc_fail(16, 0, 0), JIT_ERR_TABLE_FULL);
    CHECK_EQ(free_addr(a[3]), 0);
    CHECK(alloc_ok(16, 0, 0) != 0);
    CHECK_EQ(alloc_fail(16, 0, 0), JIT_ERR_TABLE_FULL);
}

static void test_alloc_limit_bytes(void)
{
    fx_options_t o = fx_defaults();
    o.max_alloc_bytes = 1000;
    fx_setup(&o);
    uint32_t a = alloc_ok(600, 0, 0);
    CHECK_EQ(alloc_fail(401, 0, 0), JIT_ERR_LIMIT_BYTES);
    CHECK_EQ(alloc_fail(0xffffffffu, 0, 0), JIT_ERR_LIMIT_BYTES);
    CHECK_EQ(alloc_fail(0xfffffe70u, 0, 0), JIT_ERR_LIMIT_BYTES); /* 600 + this wraps to 1000 */
    uint32_t b = alloc_ok(400, INTERNAL, 0);
    CHECK_EQ(alloc_fail(1, 0, 0), JIT_ERR_LIMIT_BYTES);
    CHECK_EQ(free_addr(a), 0);
    CHECK(alloc_ok(600, 0, 0) != 0);
    CHECK_EQ(free_addr(b), 0);
}

static void test_free_exact_start_only(void)
{
    uint32_t a = alloc_ok(64, 0, 0);
    const uint32_t wrong[] = {a + 1, a + 4, a + 16, a - 16, a - 1, 0, 0xffffffffu};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        CHECK_EQ(free_addr(wrong[i]), JIT_ERR_NOT_ALLOCATED);
    }
    CHECK_EQ(free_addr(a), 0);
    CHECK_EQ(free_addr(a), JIT_ERR_NOT_ALLOCATED); /* double free refused */
}

static reply_t read_mem(uint32_t addr, uint32_t n)
{
    uint8_t p[8];
    put32(p, addr);
    put32(p + 4, n);
    return request(JIT_CMD_READ_MEM, p, 8);
}

static uint32_t write_err(uint32_t addr, const void *data, uint32_t n)
{
    uint8_t *p = malloc(4 + (size_t)n);
    put32(p, addr);
    memcpy(p + 4, data, n);
    reply_t r = request(JIT_CMD_WRITE_MEM, p, 4 + n);
    free(p);
    return err_of(r);
}

static void test_write_read_roundtrip(void)
{
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i ^ 0x5a);
    }
    uint32_t a = alloc_ok(sizeof data, SPIRAM, 0);
    write_ok(a, data, sizeof data);
    reply_t r = read_mem(a, sizeof data);
    if (is_ok(r, JIT_CMD_READ_MEM, sizeof data)) {
        CHECK_MEM(r.payload, data, sizeof data);
    }
    write_ok(a + 10, "\x01\x02\x03", 3);
    r = read_mem(a + 9, 5);
    if (is_ok(r, JIT_CMD_READ_MEM, 5)) {
        CHECK_MEM(r.payload, "\x53\x01\x02\x03\x57", 5);
    }
    CHECK(is_ok(read_mem(a, 0), JIT_CMD_READ_MEM, 0));
}

static void test_write_read_stay_inside_one_allocation(void)
{
    uint8_t data[64] = {0};
    uint32_t a = alloc_ok(100, 0, 0), b = alloc_ok(100, 0, 0);
    write_ok(a + 99, data, 1);
    write_ok(a + 100, data, 0); /* an empty range at the end */
    CHECK_EQ(write_err(a + 99, data, 2), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(write_err(a - 1, data, 2), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(write_err(a + 101, data, 0), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(err_of(read_mem(a + 99, 2)), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(err_of(read_mem(a - 4, 8)), JIT_ERR_NOT_ALLOCATED);
    /* b follows a: a range across both is refused */
    uint32_t lo = a < b ? a : b;
    CHECK_EQ(err_of(read_mem(lo + 90, (a < b ? b : a) - lo)), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(write_err(lo + 90, data, 64), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(err_of(read_mem(0, 4)), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(free_addr(a), 0);
    CHECK_EQ(write_err(a, data, 4), JIT_ERR_NOT_ALLOCATED); /* after FREE */
    CHECK_EQ(err_of(read_mem(a, 4)), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(jit_heap_check(pc_port_region(0)), 0);
}

static void test_read_larger_than_max_payload(void)
{
    uint32_t a = alloc_ok(2000, 0, 0);
    CHECK(is_ok(read_mem(a, 512), JIT_CMD_READ_MEM, 512));
    CHECK_EQ(err_of(read_mem(a, 513)), JIT_ERR_PAYLOAD_TOO_LARGE);
    CHECK_EQ(err_of(read_mem(a, 0xffffffffu)), JIT_ERR_PAYLOAD_TOO_LARGE);
}

/* An arena that ends at 2^32: no address + length sum may wrap into a wrong answer. Without
   guards (the heap keeps its headers elsewhere), one allocation can reach the very top. */
static void test_bounds_near_top_of_address_space(void)
{
    fx_options_t o = fx_defaults();
    o.port.internal_base = 0xffff0000u;
    o.port.internal_size = 0x10000u;
    o.guard_size = 0;
    fx_setup(&o);
    uint32_t a = alloc_ok(0x10000u, INTERNAL, 0); /* the whole arena */
    CHECK_EQ(a, 0xffff0000u);
    uint8_t data[16] = {1, 2, 3, 4, 5, 6, 7, 8};
    write_ok(0xfffffffcu, data, 4);
    write_ok(0xffffffffu, data, 1);
    reply_t r = read_mem(0xfffffffcu, 4);
    if (is_ok(r, JIT_CMD_READ_MEM, 4)) {
        CHECK_MEM(r.payload, "\x01\x02\x03\x01", 4);
    }
    CHECK_EQ(write_err(0xfffffffcu, data, 8), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(write_err(0xffffffffu, data, 2), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(err_of(read_mem(0xfffffffcu, 8)), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(err_of(read_mem(0xffffffffu, 2)), JIT_ERR_NOT_ALLOCATED);
    CHECK_EQ(err_of(read_mem(a, 0xffffffffu)), JIT_ERR_PAYLOAD_TOO_LARGE);
    CHECK_EQ(free_addr(a), 0);
    CHECK_EQ(jit_heap_check(pc_port_region(1)), 0);
    CHECK_EQ(pc_port_region(1)->free_bytes, 0x10000u);
}

/* The table lookup itself, with lengths no frame can carry. */
static void test_table_find_never_wraps(void)
{
    jit_table_add(&g_core, 0xffffff00u, 0xf0u, 0, 0);
    jit_table_add(&g_core, 0x100u, 0x100u, 0, 0);
    CHECK(jit_table_find(&g_core, 0xffffff00u, 0xf0u) != NULL);
    CHECK(jit_table_find(&g_core, 0xffffffefu, 1) != NULL);
    CHECK(jit_table_find(&g_core, 0xffffffefu, 2) == NULL);
    CHECK(jit_table_find(&g_core, 0xffffff10u, 0xffffffffu) == NULL);
    CHECK(jit_table_find(&g_core, 0xffffff10u, 0x80000000u) == NULL);
    CHECK(jit_table_find(&g_core, 0xfffffff0u, 0x20u) == NULL);
    CHECK(jit_table_find(&g_core, 0x180u, 0xffffff80u) == NULL); /* 0x180 + len wraps to 0x100 */
    CHECK(jit_table_find(&g_core, 0xff, 2) == NULL);
    CHECK(jit_table_find(&g_core, 0x1ff, 1) != NULL);
}

static void test_heap_info_back_to_start_after_frees(void)
{
    uint32_t start[4], now[4], a[6];
    heap_info(start);
    CHECK_EQ(start[1], 64u * 1024u);
    CHECK_EQ(start[3], 16u * 1024u);
    CHECK_EQ(start[0], start[1]); /* no header in the region: all of it is free */
    CHECK_EQ(start[2], start[3]);
    for (int i = 0; i < 6; i++) {
        a[i] = alloc_ok(100u * (uint32_t)(i + 1), i % 2 ? INTERNAL : SPIRAM, i == 4 ? 1024 : 0);
    }
    heap_info(now);
    CHECK(now[0] < start[0] - 900);
    CHECK(now[2] < start[2] - 1200);
    CHECK_EQ(now[1], start[1]);
    const int order[] = {2, 0, 5, 1, 4, 3}; /* out of order: exercises merging on both sides */
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(free_addr(a[order[i]]), 0);
    }
    heap_info(now);
    CHECK_MEM(now, start, sizeof start);
}

static void test_list_allocs(void)
{
    reply_t r = request(JIT_CMD_LIST_ALLOCS, NULL, 0);
    if (is_ok(r, JIT_CMD_LIST_ALLOCS, 4)) {
        CHECK_EQ(get32(r.payload), 0);
    }
    uint32_t a = alloc_ok(10, SPIRAM | BIT8, 0), b = alloc_ok(20, INTERNAL, 64), c = alloc_ok(30, EXEC, 0);
    CHECK_EQ(free_addr(b), 0);
    r = request(JIT_CMD_LIST_ALLOCS, NULL, 0);
    if (is_ok(r, JIT_CMD_LIST_ALLOCS, 4 + 2 * 12)) {
        CHECK_EQ(get32(r.payload), 2);
        const uint32_t want[] = {a, 10, SPIRAM | BIT8, c, 30, EXEC};
        for (int i = 0; i < 6; i++) {
            CHECK_EQ(get32(r.payload + 4 + 4 * i), want[i]);
        }
    }
    jit_core_release_all(&g_core);
    r = request(JIT_CMD_LIST_ALLOCS, NULL, 0);
    if (is_ok(r, JIT_CMD_LIST_ALLOCS, 4)) {
        CHECK_EQ(get32(r.payload), 0);
    }
    uint32_t w[4];
    heap_info(w);
    CHECK_EQ(w[0], w[1]);
    CHECK_EQ(w[2], w[3]);
}

static void test_info_layout(void)
{
    fx_options_t o = fx_defaults();
    o.max_allocs = 5;
    o.max_alloc_bytes = 12345;
    o.default_call_ms = 1500;
    o.max_call_ms = 9000;
    fx_setup(&o);
    reply_t r = request(JIT_CMD_INFO, NULL, 0);
    if (!is_ok(r, JIT_CMD_INFO, JIT_INFO_SIZE)) {
        return;
    }
    const uint8_t *p = r.payload;
    CHECK_EQ(get32(p + 0), 2);
    CHECK_EQ(get32(p + 4), 512);
    CHECK_EQ(get32(p + 8), 64);
    CHECK_EQ(get32(p + 12), JIT_CAP_CALL | JIT_CAP_LIST_ALLOCS | JIT_CAP_OUTPUT | JIT_CAP_FAULT_RECOVERY |
                                JIT_CAP_AUTHENTICATED | JIT_CAP_SEALED | JIT_CAP_FEATURES | JIT_CAP_SESSION);
    CHECK_EQ(get32(p + 16), PC_CPU_HZ);
    CHECK_EQ(get32(p + 20), 1);
    CHECK_EQ(get32(p + 24), 5);
    CHECK_EQ(get32(p + 28), 12345);
    CHECK_EQ(get32(p + 32), 1500);
    CHECK_EQ(get32(p + 36), 9000);
    uint8_t id[32];
    jit_sha256((const uint8_t *)"p4-jit host build", 17, id);
    CHECK_MEM(p + 40, id, 32);
    for (int i = 72; i < 92; i += 4) {
        CHECK_EQ(get32(p + i), 0); /* no fault yet */
    }
    CHECK_MEM(p + 92, "host\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    CHECK_EQ(get32(p + 108), 32);
}

static void test_bad_length_every_command(void)
{
    static const struct {
        uint8_t cmd;
        uint32_t len;
    } cases[] = {
        {JIT_CMD_ALLOC, 0},          {JIT_CMD_ALLOC, 11},        {JIT_CMD_ALLOC, 13},
        {JIT_CMD_FREE, 3},           {JIT_CMD_FREE, 5},          {JIT_CMD_WRITE_MEM, 0},
        {JIT_CMD_WRITE_MEM, 3},      {JIT_CMD_READ_MEM, 7},      {JIT_CMD_READ_MEM, 9},
        {JIT_CMD_EXEC, 3},           {JIT_CMD_EXEC, 5},          {JIT_CMD_CALL, 0},
        {JIT_CMD_CALL, 7},           {JIT_CMD_CALL, 12},         {JIT_CMD_CALL, 23},
        {JIT_CMD_HEAP_INFO, 1},      {JIT_CMD_INFO, 4},          {JIT_CMD_LIST_ALLOCS, 1},
        {JIT_CMD_AUTH_CHALLENGE, 1}, {JIT_CMD_AUTH_RESPONSE, 0}, {JIT_CMD_AUTH_RESPONSE, 31},
        {JIT_CMD_AUTH_RESPONSE, 33},
    };
    uint8_t junk[64];
    memset(junk, 0x42, sizeof junk);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply_t r = request(cases[i].cmd, junk, cases[i].len);
        CHECK_EQ(r.cmd, cases[i].cmd);
        CHECK_EQ(err_of(r), JIT_ERR_BAD_LENGTH);
        CHECK_EQ(r.len, 4);
    }
}

static void test_write_syncs_caches(void)
{
    uint32_t code = alloc_ok(64, EXEC, 0), data = alloc_ok(64, INTERNAL | BIT8, 0);
    const pc_sync_log_t *log = pc_port_sync_log();
    uint32_t before = log->count; /* the guards ALLOC wrote were synced too */
    write_ok(code + 8, "abcd", 4);
    CHECK_EQ(log->count, before + 1);
    CHECK_EQ(log->addr, code + 8);
    CHECK_EQ(log->len, 4);
    CHECK_EQ(log->exec, true);
    write_ok(data, "abcdef", 6);
    CHECK_EQ(log->count, before + 2);
    CHECK_EQ(log->addr, data);
    CHECK_EQ(log->exec, false);
}

const test_case_t memory_tests[] = {
    {"alloc_picks_region_by_caps", test_alloc_picks_region_by_caps},
    {"alloc_falls_back_to_internal", test_alloc_falls_back_to_internal},
    {"alloc_fail_seed_form", test_alloc_fail_seed_form},
    {"alloc_seed_example_frame", test_alloc_seed_example_frame},
    {"alloc_alignment", test_alloc_alignment},
    {"alloc_size_zero", test_alloc_size_zero},
    {"alloc_table_full", test_alloc_table_full},
    {"alloc_limit_bytes", test_alloc_limit_bytes},
    {"free_exact_start_only", test_free_exact_start_only},
    {"write_read_roundtrip", test_write_read_roundtrip},
    {"write_read_stay_inside_one_allocation", test_write_read_stay_inside_one_allocation},
    {"read_larger_than_max_payload", test_read_larger_than_max_payload},
    {"bounds_near_top_of_address_space", test_bounds_near_top_of_address_space},
    {"table_find_never_wraps", test_table_find_never_wraps},
    {"heap_info_back_to_start_after_frees", test_heap_info_back_to_start_after_frees},
    {"list_allocs", test_list_allocs},
    {"info_layout", test_info_layout},
    {"bad_length_every_command", test_bad_length_every_command},
    {"write_syncs_caches", test_write_syncs_caches},
};
const size_t memory_test_count = sizeof memory_tests / sizeof memory_tests[0];

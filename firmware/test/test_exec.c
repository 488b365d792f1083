/* Tests of EXEC and CALL, run by the host port's interpreter (encoding in pc_port.h). */
#include <string.h>

#include "test_util.h"

void op(code_t *c, uint32_t word)
{
    put32(c->b + c->n, word);
    c->n += 4;
}

static void op_print(code_t *c, const char *text)
{
    uint32_t n = (uint32_t)strlen(text);
    op(c, PC_OP_PRINT);
    op(c, n);
    memset(c->b + c->n, 0, (n + 3) & ~3u);
    memcpy(c->b + c->n, text, n);
    c->n += (n + 3) & ~3u;
}

/* Allocates with caps, uploads the code, returns its address. */
uint32_t load(const code_t *c, uint32_t caps)
{
    uint32_t a = alloc_ok(c->n + 32, caps, 0);
    write_ok(a, c->b, c->n);
    return a;
}

static uint32_t load_ret(uint32_t lo, uint32_t hi)
{
    code_t c = {.n = 0};
    op(&c, PC_OP_RET);
    op(&c, lo);
    op(&c, hi);
    return load(&c, JIT_CAP_MALLOC_EXEC);
}

reply_t exec_at(uint32_t addr)
{
    uint8_t p[4];
    put32(p, addr);
    return request(JIT_CMD_EXEC, p, 4);
}

reply_t call_at(uint32_t entry, uint32_t limit_ms, const uint64_t *slots, uint32_t nslots)
{
    uint8_t p[8 + 8 * 40];
    put32(p, entry);
    put32(p + 4, limit_ms);
    for (uint32_t i = 0; i < nslots; i++) {
        put32(p + 8 + 8 * i, (uint32_t)slots[i]);
        put32(p + 12 + 8 * i, (uint32_t)(slots[i] >> 32));
    }
    return request(JIT_CMD_CALL, p, 8 + 8 * nslots);
}

static void test_exec_returns_int(void)
{
    reply_t r = exec_at(load_ret(42, 0x77));
    if (is_ok(r, JIT_CMD_EXEC, 4)) {
        CHECK_EQ(get32(r.payload), 42);
    }
    r = exec_at(load_ret(0xffffffffu, 0)); /* -1 */
    if (is_ok(r, JIT_CMD_EXEC, 4)) {
        CHECK_EQ(get32(r.payload), 0xffffffffu);
    }
}

static void test_exec_call_not_executable(void)
{
    code_t c = {.n = 0};
    op(&c, PC_OP_RET);
    op(&c, 1);
    op(&c, 0);
    /* neither EXEC nor SPIRAM asked for: data, even where it landed in PSRAM */
    uint32_t data = load(&c, JIT_CAP_MALLOC_INTERNAL | JIT_CAP_MALLOC_8BIT);
    uint32_t data_psram = load(&c, JIT_CAP_MALLOC_8BIT);
    uint32_t code = load(&c, JIT_CAP_MALLOC_EXEC);
    const uint32_t bad[] = {data, data_psram, 0, 0x48000000u, code + c.n + 31, code - 4, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(err_of(exec_at(bad[i])), JIT_ERR_NOT_EXECUTABLE);
        CHECK_EQ(err_of(call_at(bad[i], 0, NULL, 0)), JIT_ERR_NOT_EXECUTABLE);
    }
    CHECK_EQ(free_addr(code), 0);
    CHECK_EQ(err_of(exec_at(code)), JIT_ERR_NOT_EXECUTABLE); /* freed */
}

/* The original host allocates its code with SPIRAM | 8BIT: PSRAM is executable on the P4. */
static void test_spiram_allocation_runs(void)
{
    uint32_t a = alloc_ok(64, JIT_CAP_MALLOC_SPIRAM | JIT_CAP_MALLOC_8BIT, 16);
    const uint8_t ret[12] = {PC_OP_RET, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0};
    write_ok(a, ret, sizeof ret);
    CHECK_EQ(pc_port_sync_log()->exec, true);
    reply_t r = exec_at(a);
    if (is_ok(r, JIT_CMD_EXEC, 4)) {
        CHECK_EQ(get32(r.payload), 5);
    }
}

static void test_exec_fault_reported_and_recorded(void)
{
    opt_in(JIT_FEATURES_ALL);
    code_t c = {.n = 0};
    op_print(&c, "x"); /* the fault is at the second instruction */
    op(&c, PC_OP_FAULT);
    op(&c, 7);
    op(&c, 0x1234);
    uint32_t a = load(&c, JIT_CAP_MALLOC_EXEC);
    uint8_t p[4];
    put32(p, a);
    send_request(JIT_CMD_EXEC, p, 4); /* an OUTPUT frame comes first */
    reply_t r, f[3];
    CHECK_EQ(captured_frames(f, 3), 2);
    CHECK_EQ(f[0].cmd, JIT_CMD_OUTPUT);
    CHECK_EQ(f[1].cmd, JIT_CMD_EXEC);
    CHECK_EQ(err_of(f[1]), JIT_ERR_FAULT);
    if (CHECK_EQ(f[1].len, 16)) {
        CHECK_EQ(get32(f[1].payload + 4), 7);
        CHECK_EQ(get32(f[1].payload + 8), a + 12);
        CHECK_EQ(get32(f[1].payload + 12), 0x1234);
    }
    r = request(JIT_CMD_INFO, NULL, 0);
    if (is_ok(r, JIT_CMD_INFO, JIT_INFO_SIZE)) {
        const uint32_t want[] = {1, 7, a + 12, 0x1234, a};
        for (int i = 0; i < 5; i++) {
            CHECK_EQ(get32(r.payload + 72 + 4 * i), want[i]);
        }
    }
    /* the device goes on, allocations intact */
    CHECK(is_ok(request(JIT_CMD_PING, "hi", 2), JIT_CMD_PING, 2));
    r = request(JIT_CMD_LIST_ALLOCS, NULL, 0);
    if (is_ok(r, JIT_CMD_LIST_ALLOCS, 16)) {
        CHECK_EQ(get32(r.payload + 4), a);
    }
}

static void test_illegal_and_runaway_instructions(void)
{
    opt_in(JIT_FEATURES_ALL);
    code_t c = {.n = 0};
    op(&c, 0xdeadbeefu);
    uint32_t a = load(&c, JIT_CAP_MALLOC_EXEC);
    reply_t r = exec_at(a);
    if (CHECK_EQ(err_of(r), JIT_ERR_FAULT) && CHECK_EQ(r.len, 16)) {
        CHECK_EQ(get32(r.payload + 4), 2);
        CHECK_EQ(get32(r.payload + 8), a);
        CHECK_EQ(get32(r.payload + 12), 0xdeadbeefu);
    }
    /* text running past the arena: an access fault, not a read outside it */
    code_t p = {.n = 0};
    op(&p, PC_OP_PRINT);
    op(&p, 0xfffffff0u);
    r = call_at(load(&p, JIT_CAP_MALLOC_EXEC), 0, NULL, 0);
    CHECK_EQ(err_of(r), JIT_ERR_FAULT);
}

static void test_exec_timeout_uses_default_limit(void)
{
    opt_in(JIT_FEATURES_ALL);
    code_t c = {.n = 0};
    op(&c, PC_OP_SPIN);
    uint32_t a = load(&c, JIT_CAP_MALLOC_EXEC);
    uint32_t t0 = jit_port_millis();
    reply_t r = exec_at(a);
    if (CHECK_EQ(err_of(r), JIT_ERR_TIMEOUT) && CHECK_EQ(r.len, 8)) {
        CHECK_EQ(get32(r.payload + 4), a); /* mepc */
    }
    CHECK_EQ(jit_port_millis() - t0, 2000);
    CHECK(is_ok(request(JIT_CMD_PING, NULL, 0), JIT_CMD_PING, 0));
}

static void test_output_frames_before_reply(void)
{
    opt_in(JIT_FEATURES_ALL);
    code_t c = {.n = 0};
    op_print(&c, "hello\n");
    op_print(&c, "");
    op_print(&c, "world");
    op(&c, PC_OP_RET);
    op(&c, 7);
    op(&c, 0);
    uint32_t a = load(&c, JIT_CAP_MALLOC_EXEC);
    uint8_t p[8] = {0};
    put32(p, a);
    for (int kind = 0; kind < 2; kind++) {
        send_request(kind ? JIT_CMD_CALL : JIT_CMD_EXEC, p, kind ? 8 : 4);
        reply_t f[5];
        if (!CHECK_EQ(captured_frames(f, 5), 4)) {
            continue;
        }
        const char *texts[] = {"hello\n", "", "world"};
        for (int i = 0; i < 3; i++) {
            CHECK(is_ok(f[i], JIT_CMD_OUTPUT, (uint32_t)strlen(texts[i])));
            CHECK_MEM(f[i].payload, texts[i], strlen(texts[i]));
        }
        CHECK(is_ok(f[3], kind ? JIT_CMD_CALL : JIT_CMD_EXEC, kind ? 20 : 4));
        CHECK_EQ(get32(f[3].payload), 7);
    }
}

static void test_call_returns_64_bits(void)
{
    reply_t r = call_at(load_ret(0x44332211u, 0x88776655u), 0, NULL, 0);
    if (is_ok(r, JIT_CMD_CALL, 20)) {
        CHECK_EQ(get64(r.payload), 0x8877665544332211ull);
        CHECK_EQ(get64(r.payload + 8), 1); /* one instruction */
        CHECK_EQ(get32(r.payload + 16), 0);
    }
}

static void test_call_sees_argument_slots(void)
{
    opt_in(JIT_FEATURES_ALL);
    uint64_t slots[32];
    for (int i = 0; i < 32; i++) {
        slots[i] = 0x0101010101010101ull * (uint64_t)(i + 1) ^ ((uint64_t)i << 60);
    }
    const uint32_t counts[] = {1, 3, 31, 32};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        for (uint32_t k = 0; k<counts[i]; k += counts[i]> 3 ? 10 : 1) {
            code_t c = {.n = 0};
            op(&c, PC_OP_RET_ARG);
            op(&c, k);
            uint32_t a = load(&c, JIT_CAP_MALLOC_EXEC);
            reply_t r = call_at(a, 0, slots, counts[i]);
            if (is_ok(r, JIT_CMD_CALL, 20)) {
                CHECK_EQ(get64(r.payload), slots[k]);
            }
            CHECK_EQ(free_addr(a), 0);
        }
    }
    /* slot k beyond the ones sent: the simulated load faults */
    code_t c = {.n = 0};
    op(&c, PC_OP_RET_ARG);
    op(&c, 3);
    reply_t r = call_at(load(&c, JIT_CAP_MALLOC_EXEC), 0, slots, 3);
    if (CHECK_EQ(err_of(r), JIT_ERR_FAULT)) {
        CHECK_EQ(get32(r.payload + 4), 5);
    }
}

static void test_call_argument_limits(void)
{
    uint64_t slots[40] = {0};
    uint32_t a = load_ret(1, 0);
    CHECK_EQ(err_of(call_at(a, 0, slots, 33)), JIT_ERR_BAD_ARGUMENT);
    CHECK_EQ(err_of(call_at(a, 0, slots, 40)), JIT_ERR_BAD_ARGUMENT);
    CHECK(is_ok(call_at(a, 0, slots, 32), JIT_CMD_CALL, 20));
    CHECK(is_ok(call_at(a, 0, slots, 0), JIT_CMD_CALL, 20));
}

static void test_call_time_limits(void)
{
    code_t spin = {.n = 0};
    op(&spin, PC_OP_SPIN);
    uint32_t a = load(&spin, JIT_CAP_MALLOC_EXEC);
    const struct {
        uint32_t asked, ran;
    } cases[] = {{0, 2000}, {1, 1}, {300, 300}, {10000, 10000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t t0 = jit_port_millis();
        reply_t r = call_at(a, cases[i].asked, NULL, 0);
        CHECK_EQ(err_of(r), JIT_ERR_TIMEOUT);
        CHECK_EQ(jit_port_millis() - t0, cases[i].ran);
    }
    CHECK_EQ(err_of(call_at(a, 10001, NULL, 0)), JIT_ERR_BAD_ARGUMENT);
    CHECK_EQ(err_of(call_at(a, 0xffffffffu, NULL, 0)), JIT_ERR_BAD_ARGUMENT);

    /* a call that sleeps under its limit returns and reports the time it took */
    code_t c = {.n = 0};
    op(&c, PC_OP_SLEEP);
    op(&c, 250);
    op(&c, PC_OP_RET);
    op(&c, 5);
    op(&c, 0);
    reply_t r = call_at(load(&c, JIT_CAP_MALLOC_EXEC), 300, NULL, 0);
    if (is_ok(r, JIT_CMD_CALL, 20)) {
        CHECK_EQ(get64(r.payload), 5);
        CHECK_EQ(get64(r.payload + 8), 2);
        CHECK_EQ(get32(r.payload + 16), 250000);
    }
    CHECK_EQ(err_of(call_at(load(&c, JIT_CAP_MALLOC_EXEC), 250, NULL, 0)), JIT_ERR_TIMEOUT);
}

/* A long call is not an inter-byte stall of the frame that follows it in the same read. */
static void test_call_time_is_not_a_stall(void)
{
    code_t c = {.n = 0};
    op(&c, PC_OP_SLEEP);
    op(&c, 1500);
    op(&c, PC_OP_RET);
    op(&c, 9);
    op(&c, 0);
    uint32_t a = load(&c, JIT_CAP_MALLOC_EXEC);
    uint8_t exec[4], buf[64];
    put32(exec, a);
    size_t n = frame_encode(buf, JIT_CMD_EXEC, 0, exec, 4);
    size_t ping = frame_encode(buf + n, JIT_CMD_PING, 0, "ab", 2);
    pc_port_clear_output();
    feed(buf, n + 5); /* the EXEC and the start of a PING */
    pc_port_advance(100);
    jit_core_tick(&g_core);
    feed(buf + n + 5, ping - 5);
    reply_t f[3];
    CHECK_EQ(captured_frames(f, 3), 2);
    CHECK(is_ok(f[0], JIT_CMD_EXEC, 4));
    CHECK(is_ok(f[1], JIT_CMD_PING, 2));
}

const test_case_t exec_tests[] = {
    {"exec_returns_int", test_exec_returns_int},
    {"exec_call_not_executable", test_exec_call_not_executable},
    {"spiram_allocation_runs", test_spiram_allocation_runs},
    {"exec_fault_reported_and_recorded", test_exec_fault_reported_and_recorded},
    {"illegal_and_runaway_instructions", test_illegal_and_runaway_instructions},
    {"exec_timeout_uses_default_limit", test_exec_timeout_uses_default_limit},
    {"output_frames_before_reply", test_output_frames_before_reply},
    {"call_returns_64_bits", test_call_returns_64_bits},
    {"call_sees_argument_slots", test_call_sees_argument_slots},
    {"call_argument_limits", test_call_argument_limits},
    {"call_time_limits", test_call_time_limits},
    {"call_time_is_not_a_stall", test_call_time_is_not_a_stall},
};
const size_t exec_test_count = sizeof exec_tests / sizeof exec_tests[0];

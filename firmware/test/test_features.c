/*
 * FEATURES: a host sees the seed's replies only (error payload = one code, no OUTPUT frames)
 * until it opts in to extended replies, and a new host starts without them again.
 */
#include <string.h>

#include "test_util.h"

/* code that prints "hi!\n" and then returns 7, faults (mcause 5 at its second instruction, mtval
   0x99) or spins to its time limit */
typedef enum { END_RET, END_FAULT, END_SPIN } end_t;

static uint32_t load_printer(end_t end)
{
    uint32_t code[8] = {PC_OP_PRINT, 4, 0};
    memcpy(&code[2], "hi!\n", 4);
    uint32_t n = 3;
    if (end == END_RET) {
        code[n++] = PC_OP_RET;
        code[n++] = 7;
        code[n++] = 0;
    } else if (end == END_FAULT) {
        code[n++] = PC_OP_FAULT;
        code[n++] = 5;
        code[n++] = 0x99;
    } else {
        code[n++] = PC_OP_SPIN;
    }
    uint32_t addr = alloc_ok(64, JIT_CAP_MALLOC_SPIRAM | JIT_CAP_MALLOC_8BIT, 16);
    write_ok(addr, code, 4 * n);
    return addr;
}

/* Sends EXEC and returns its one frame; fails a check when anything else was sent. */
static reply_t exec_only_reply(uint32_t addr)
{
    uint8_t p[4];
    put32(p, addr);
    send_request(JIT_CMD_EXEC, p, 4);
    reply_t f[3];
    CHECK_EQ(captured_frames(f, 3), 1);
    return f[0];
}

static void test_seed_host_print_goes_to_console(void)
{
    uint32_t a = load_printer(END_RET);
    reply_t r = exec_only_reply(a);
    if (is_ok(r, JIT_CMD_EXEC, 4)) {
        CHECK_EQ(get32(r.payload), 7);
    }
    CHECK(strcmp(pc_port_console(), "hi!\n") == 0);
    /* CALL too: OUTPUT frames only for a host that asked */
    uint8_t p[8] = {0};
    put32(p, a);
    send_request(JIT_CMD_CALL, p, 8);
    reply_t f[3];
    if (CHECK_EQ(captured_frames(f, 3), 1)) {
        CHECK(is_ok(f[0], JIT_CMD_CALL, JIT_CALL_REPLY_SIZE));
    }
    CHECK(strcmp(pc_port_console(), "hi!\nhi!\n") == 0);
}

static void test_seed_host_fault_is_one_code(void)
{
    uint32_t a = load_printer(END_FAULT);
    uint8_t p[4];
    put32(p, a);
    uint8_t req[14], want[14];
    frame_encode(req, JIT_CMD_EXEC, JIT_FLAG_REQUEST, p, 4);
    uint8_t code[4] = {JIT_ERR_FAULT, 0, 0, 0};
    frame_encode(want, JIT_CMD_EXEC, JIT_FLAG_ERROR, code, 4); /* a5 5a 30 02 04 00 00 00 08 00 00 00 sum */
    pc_port_clear_output();
    feed(req, sizeof req);
    size_t n;
    const uint8_t *out = pc_port_output(&n);
    if (CHECK_EQ(n, sizeof want)) {
        CHECK_MEM(out, want, sizeof want);
    }
    CHECK(strcmp(pc_port_console(), "hi!\n") == 0);
    /* the details, on request */
    reply_t r = request(JIT_CMD_LAST_FAULT, NULL, 0);
    if (is_ok(r, JIT_CMD_LAST_FAULT, JIT_LAST_FAULT_SIZE)) {
        const uint32_t w[5] = {JIT_ERR_FAULT, a, 5, a + 12, 0x99};
        for (int i = 0; i < 5; i++) {
            CHECK_EQ(get32(r.payload + 4 * i), w[i]);
        }
    }
}

static void test_seed_host_timeout_is_one_code(void)
{
    uint32_t a = load_printer(END_SPIN);
    reply_t r = exec_only_reply(a);
    CHECK_EQ(err_of(r), JIT_ERR_TIMEOUT);
    CHECK_EQ(r.len, 4);
    r = request(JIT_CMD_LAST_FAULT, NULL, 0);
    if (is_ok(r, JIT_CMD_LAST_FAULT, JIT_LAST_FAULT_SIZE)) {
        const uint32_t w[5] = {JIT_ERR_TIMEOUT, a, 0, a + 12, 0};
        for (int i = 0; i < 5; i++) {
            CHECK_EQ(get32(r.payload + 4 * i), w[i]);
        }
    }
}

static void test_last_fault_before_any(void)
{
    reply_t r = request(JIT_CMD_LAST_FAULT, NULL, 0);
    if (is_ok(r, JIT_CMD_LAST_FAULT, JIT_LAST_FAULT_SIZE)) {
        static const uint8_t zero[JIT_LAST_FAULT_SIZE];
        CHECK_MEM(r.payload, zero, JIT_LAST_FAULT_SIZE);
    }
    CHECK_EQ(err_of(request(JIT_CMD_LAST_FAULT, "x", 1)), JIT_ERR_BAD_LENGTH);
}

static void test_features_granted_and_withdrawn(void)
{
    opt_in(0xffffffffu); /* unknown bits are not granted: the reply shows 3 */
    CHECK_EQ(g_core.features, JIT_FEATURES_ALL);
    uint32_t a = load_printer(END_FAULT);
    uint8_t p[4];
    put32(p, a);
    send_request(JIT_CMD_EXEC, p, 4);
    reply_t f[3];
    if (CHECK_EQ(captured_frames(f, 3), 2)) {
        CHECK(is_ok(f[0], JIT_CMD_OUTPUT, 4));
        CHECK_EQ(err_of(f[1]), JIT_ERR_FAULT);
        CHECK_EQ(f[1].len, 16);
    }
    opt_in(JIT_FEATURE_ERROR_DETAIL); /* details, but the text to the console */
    send_request(JIT_CMD_EXEC, p, 4);
    if (CHECK_EQ(captured_frames(f, 3), 1)) {
        CHECK_EQ(f[0].len, 16);
    }
    opt_in(0);
    CHECK_EQ(exec_only_reply(a).len, 4);
    CHECK_EQ(err_of(request(JIT_CMD_FEATURES, NULL, 0)), JIT_ERR_BAD_LENGTH);
}

static void test_host_change_forgets_features(void)
{
    uint32_t a = load_printer(END_FAULT);
    opt_in(JIT_FEATURES_ALL);
    jit_core_host_changed(&g_core);
    CHECK_EQ(g_core.features, 0);
    reply_t r = exec_only_reply(a);
    CHECK_EQ(err_of(r), JIT_ERR_FAULT);
    CHECK_EQ(r.len, 4);
    /* AUTH_END, the host saying it is done, forgets them too */
    opt_in(JIT_FEATURES_ALL);
    CHECK_EQ(status_of(request(JIT_CMD_AUTH_END, NULL, 0), JIT_CMD_AUTH_END), 0);
    CHECK_EQ(g_core.features, 0);
    CHECK_EQ(exec_only_reply(a).len, 4);
}

static void test_features_before_authentication(void)
{
    setup_auth();
    opt_in(JIT_FEATURES_ALL); /* allowed before the host authenticates */
    CHECK_EQ(err_of(request(JIT_CMD_LAST_FAULT, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED);
    uint8_t mac[32];
    CHECK(authenticate(mac));
    CHECK_EQ(g_core.features, JIT_FEATURES_ALL); /* authenticating keeps them */
    jit_core_host_changed(&g_core);
    CHECK_EQ(g_core.features, 0);
    CHECK_EQ(g_core.authenticated, false);
}

const test_case_t feature_tests[] = {
    {"seed_host_print_goes_to_console", test_seed_host_print_goes_to_console},
    {"seed_host_fault_is_one_code", test_seed_host_fault_is_one_code},
    {"seed_host_timeout_is_one_code", test_seed_host_timeout_is_one_code},
    {"last_fault_before_any", test_last_fault_before_any},
    {"features_granted_and_withdrawn", test_features_granted_and_withdrawn},
    {"host_change_forgets_features", test_host_change_forgets_features},
    {"features_before_authentication", test_features_before_authentication},
};
const size_t feature_test_count = sizeof feature_tests / sizeof feature_tests[0];

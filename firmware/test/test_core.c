/*
 * Unit tests of the P4-JIT protocol core on the host port: the frame parser here, the commands
 * in test_memory.c, test_exec.c, test_auth.c and test_seal.c. Prints one line per failed check and ends with
 * "N passed, M failed"; exits 1 when anything failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

extern const test_case_t memory_tests[], exec_tests[], auth_tests[], seal_tests[], guard_tests[], feature_tests[],
    session_tests[];
extern const size_t memory_test_count, exec_test_count, auth_test_count, seal_test_count, guard_test_count,
    feature_test_count, session_test_count;

static const uint8_t PING_REQ[] = {0xa5, 0x5a, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0xca, 0xfe, 0xba, 0xbe, 0x44, 0x04};
static const uint8_t PING_OK[] = {0xa5, 0x5a, 0x01, 0x01, 0x04, 0x00, 0x00, 0x00, 0xca, 0xfe, 0xba, 0xbe, 0x45, 0x04};

/* True when exactly the PING_OK frame was captured (and clears the capture). */
static bool answered_ping(void)
{
    size_t len;
    const uint8_t *out = pc_port_output(&len);
    bool ok = CHECK_EQ(len, sizeof PING_OK) && CHECK_MEM(out, PING_OK, sizeof PING_OK);
    pc_port_clear_output();
    return ok;
}

static void test_ping_seed_example(void)
{
    uint8_t built[sizeof PING_REQ];
    CHECK_EQ(frame_encode(built, JIT_CMD_PING, 0, PING_REQ + 8, 4), sizeof PING_REQ);
    CHECK_MEM(built, PING_REQ, sizeof PING_REQ);
    feed(PING_REQ, sizeof PING_REQ);
    answered_ping();
}

static void test_ping_echoes_any_length(void)
{
    uint8_t data[512];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7 + 3);
    }
    const uint32_t lens[] = {0, 1, 255, 511, 512};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        reply_t r = request(JIT_CMD_PING, data, lens[i]);
        if (is_ok(r, JIT_CMD_PING, lens[i]) && lens[i]) {
            CHECK_MEM(r.payload, data, lens[i]);
        }
    }
}

static void test_unknown_command_example(void)
{
    static const uint8_t want[] = {0xa5, 0x5a, 0x77, 0x02, 0x04, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x7e, 0x01};
    reply_t r = request(0x77, NULL, 0);
    CHECK_EQ(err_of(r), JIT_ERR_UNKNOWN_CMD);
    size_t len;
    const uint8_t *out = pc_port_output(&len);
    CHECK_EQ(len, sizeof want);
    CHECK_MEM(out, want, sizeof want);
    /* any payload length: still unknown */
    CHECK_EQ(err_of(request(0xff, "abc", 3)), JIT_ERR_UNKNOWN_CMD);
    CHECK_EQ(err_of(request(0x00, NULL, 0)), JIT_ERR_UNKNOWN_CMD);
}

static void test_checksum_error_then_ping(void)
{
    static const uint8_t want[] = {0xa5, 0x5a, 0x01, 0x02, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x01};
    uint8_t bad[sizeof PING_REQ];
    memcpy(bad, PING_REQ, sizeof bad);
    bad[13] ^= 0x01;
    feed(bad, sizeof bad);
    size_t len;
    const uint8_t *out = pc_port_output(&len);
    CHECK_EQ(len, sizeof want);
    CHECK_MEM(out, want, sizeof want);
    pc_port_clear_output();
    bad[13] ^= 0x01;
    bad[9] ^= 0x10; /* payload corrupted instead */
    feed(bad, sizeof bad);
    reply_t r[2];
    CHECK_EQ(captured_frames(r, 2), 1);
    CHECK_EQ(err_of(r[0]), JIT_ERR_CHECKSUM);
    pc_port_clear_output();
    feed(PING_REQ, sizeof PING_REQ);
    answered_ping();
}

static void test_garbage_before_frame(void)
{
    static const uint8_t garbage[] = {0x00, 0xff, 0x5a, 0xa5, 0x00, 0x5a, 0xa5, 0x11, 0x13, 0x37};
    feed(garbage, sizeof garbage);
    CHECK(nothing_sent());
    feed(PING_REQ, sizeof PING_REQ);
    answered_ping();
    /* garbage and frame in one call */
    uint8_t both[sizeof garbage + sizeof PING_REQ];
    memcpy(both, garbage, sizeof garbage);
    memcpy(both + sizeof garbage, PING_REQ, sizeof PING_REQ);
    feed(both, sizeof both);
    answered_ping();
}

static void test_resync_on_second_a5(void)
{
    static const uint8_t prefixes[][3] = {{0xa5}, {0xa5, 0xa5}, {0xa5, 0xa5, 0xa5}};
    for (size_t i = 0; i < 3; i++) {
        uint8_t buf[3 + sizeof PING_REQ];
        memcpy(buf, prefixes[i], i + 1);
        memcpy(buf + i + 1, PING_REQ, sizeof PING_REQ);
        feed(buf, i + 1 + sizeof PING_REQ);
        answered_ping();
    }
}

static void test_several_frames_in_one_feed(void)
{
    uint8_t buf[3 * sizeof PING_REQ];
    for (int i = 0; i < 3; i++) {
        memcpy(buf + i * sizeof PING_REQ, PING_REQ, sizeof PING_REQ);
    }
    feed(buf, sizeof buf);
    reply_t r[4];
    CHECK_EQ(captured_frames(r, 4), 3);
    for (int i = 0; i < 3; i++) {
        CHECK(is_ok(r[i], JIT_CMD_PING, 4));
    }
}

/* Every way of cutting the frame into consecutive feed calls: bit k of mask set = a cut after
 * byte k. 2^13 compositions of the 14-byte PING. */
static void test_frame_split_every_way(void)
{
    const size_t n = sizeof PING_REQ;
    unsigned bad = 0;
    for (uint32_t mask = 0; mask < (1u << (n - 1)); mask++) {
        size_t start = 0;
        for (size_t k = 0; k < n; k++) {
            if (k == n - 1 || (mask >> k) & 1u) {
                feed(PING_REQ + start, k + 1 - start);
                start = k + 1;
            }
        }
        size_t len;
        const uint8_t *out = pc_port_output(&len);
        if (len != sizeof PING_OK || memcmp(out, PING_OK, len) != 0) {
            bad++;
        }
        pc_port_clear_output();
    }
    CHECK_EQ(bad, 0);
}

/* A larger frame cut at every pair of points. */
static void test_write_frame_split_at_two_points(void)
{
    uint32_t addr = alloc_ok(64, JIT_CAP_MALLOC_8BIT, 0);
    uint8_t payload[4 + 24], frame[10 + sizeof payload];
    put32(payload, addr);
    for (int i = 0; i < 24; i++) {
        payload[4 + i] = (uint8_t)(0xa5 ^ i); /* magic-looking bytes inside the payload */
    }
    size_t n = frame_encode(frame, JIT_CMD_WRITE_MEM, 0, payload, sizeof payload);
    unsigned bad = 0;
    for (size_t a = 1; a < n; a++) {
        for (size_t b = a; b < n; b++) {
            pc_port_clear_output();
            feed(frame, a);
            feed(frame + a, b - a);
            feed(frame + b, n - b);
            reply_t r[2];
            if (captured_frames(r, 2) != 1 || r[0].flags != JIT_FLAG_OK || r[0].cmd != JIT_CMD_WRITE_MEM) {
                bad++;
            }
        }
    }
    CHECK_EQ(bad, 0);
}

static void oversized_header(uint8_t *h, uint8_t cmd, uint8_t flags, uint32_t len)
{
    h[0] = JIT_MAGIC0;
    h[1] = JIT_MAGIC1;
    h[2] = cmd;
    h[3] = flags;
    put32(h + 4, len);
}

static void test_oversized_drained_then_answered(void)
{
    uint8_t h[8], body[513 + 2];
    oversized_header(h, JIT_CMD_WRITE_MEM, 0, 513);
    /* a whole PING inside the drained payload must not be parsed */
    memset(body, 0xa5, sizeof body);
    memcpy(body + 100, PING_REQ, sizeof PING_REQ);
    feed(h, sizeof h);
    feed(body, sizeof body - 1);
    CHECK(nothing_sent());
    feed(body + sizeof body - 1, 1);
    reply_t r[2];
    CHECK_EQ(captured_frames(r, 2), 1);
    CHECK_EQ(r[0].cmd, JIT_CMD_WRITE_MEM);
    CHECK_EQ(err_of(r[0]), JIT_ERR_PAYLOAD_TOO_LARGE);
    CHECK_EQ(r[0].len, 4);
    pc_port_clear_output();
    feed(PING_REQ, sizeof PING_REQ);
    answered_ping();
}

static void test_oversized_stall_answered_by_tick(void)
{
    uint8_t h[8], some[100];
    oversized_header(h, JIT_CMD_PING, 0, 0xffffffffu);
    memset(some, 0x11, sizeof some);
    feed(h, sizeof h);
    feed(some, sizeof some);
    pc_port_advance(499);
    jit_core_tick(&g_core);
    CHECK(nothing_sent());
    pc_port_advance(1);
    jit_core_tick(&g_core);
    reply_t r[2];
    CHECK_EQ(captured_frames(r, 2), 1);
    CHECK_EQ(r[0].cmd, JIT_CMD_PING);
    CHECK_EQ(err_of(r[0]), JIT_ERR_PAYLOAD_TOO_LARGE);
    pc_port_clear_output();
    feed(PING_REQ, sizeof PING_REQ);
    answered_ping();
}

static void test_oversized_stall_answered_by_next_feed(void)
{
    uint8_t h[8];
    oversized_header(h, 0x21, 0, 1u << 20);
    feed(h, sizeof h);
    pc_port_advance(500);
    feed(PING_REQ, sizeof PING_REQ); /* no tick in between */
    reply_t r[3];
    CHECK_EQ(captured_frames(r, 3), 2);
    CHECK_EQ(r[0].cmd, 0x21);
    CHECK_EQ(err_of(r[0]), JIT_ERR_PAYLOAD_TOO_LARGE);
    CHECK(is_ok(r[1], JIT_CMD_PING, 4));
}

static void test_cut_short_abandoned(void)
{
    for (size_t cut = 1; cut < sizeof PING_REQ; cut++) {
        feed(PING_REQ, cut);
        pc_port_advance(499);
        jit_core_tick(&g_core);
        pc_port_advance(1);
        jit_core_tick(&g_core);
        CHECK(nothing_sent()); /* silently */
        feed(PING_REQ, sizeof PING_REQ);
        answered_ping();
        /* the same without a tick: the next feed notices the stall */
        feed(PING_REQ, cut);
        pc_port_advance(500);
        feed(PING_REQ, sizeof PING_REQ);
        answered_ping();
    }
}

static void test_slow_frame_within_timeout_completes(void)
{
    for (size_t i = 0; i < sizeof PING_REQ; i++) {
        feed(PING_REQ + i, 1);
        pc_port_advance(499);
        jit_core_tick(&g_core);
    }
    answered_ping();
}

static void test_interbyte_timeout_zero_never_expires(void)
{
    fx_options_t o = fx_defaults();
    o.interbyte_timeout_ms = 0;
    fx_setup(&o);
    feed(PING_REQ, 5);
    pc_port_advance(100000);
    jit_core_tick(&g_core);
    feed(PING_REQ + 5, sizeof PING_REQ - 5);
    answered_ping();
}

static void test_clock_wrap(void)
{
    fx_options_t o = fx_defaults();
    o.port.start_ms = 0xffffff00u;
    fx_setup(&o);
    feed(PING_REQ, 5);
    pc_port_advance(0x1f0); /* across the wrap, under the timeout */
    jit_core_tick(&g_core);
    feed(PING_REQ + 5, sizeof PING_REQ - 5);
    answered_ping();
    feed(PING_REQ, 5);
    pc_port_advance(500);
    jit_core_tick(&g_core);
    feed(PING_REQ, sizeof PING_REQ);
    answered_ping();
}

static void test_non_request_flags_ignored(void)
{
    const uint8_t flags[] = {0x01, 0x02, 0x03, 0x80, 0xff};
    for (size_t i = 0; i < sizeof flags; i++) {
        uint8_t f[sizeof PING_REQ];
        frame_encode(f, JIT_CMD_PING, flags[i], PING_REQ + 8, 4);
        feed(f, sizeof f);
        CHECK(nothing_sent());
        f[sizeof f - 1] ^= 0x40; /* not even a bad checksum is answered */
        feed(f, sizeof f);
        CHECK(nothing_sent());
        uint8_t h[8], body[600] = {0};
        oversized_header(h, JIT_CMD_PING, flags[i], sizeof body - 2); /* nor an oversized one */
        feed(h, sizeof h);
        feed(body, sizeof body);
        CHECK(nothing_sent());
        /* a device's own reply coming back is ignored too */
        feed(PING_OK, sizeof PING_OK);
        CHECK(nothing_sent());
    }
    feed(PING_REQ, sizeof PING_REQ);
    answered_ping();
}

static const test_case_t parser_tests[] = {
    {"ping_seed_example", test_ping_seed_example},
    {"ping_echoes_any_length", test_ping_echoes_any_length},
    {"unknown_command_example", test_unknown_command_example},
    {"checksum_error_then_ping", test_checksum_error_then_ping},
    {"garbage_before_frame", test_garbage_before_frame},
    {"resync_on_second_a5", test_resync_on_second_a5},
    {"several_frames_in_one_feed", test_several_frames_in_one_feed},
    {"frame_split_every_way", test_frame_split_every_way},
    {"write_frame_split_at_two_points", test_write_frame_split_at_two_points},
    {"oversized_drained_then_answered", test_oversized_drained_then_answered},
    {"oversized_stall_answered_by_tick", test_oversized_stall_answered_by_tick},
    {"oversized_stall_answered_by_next_feed", test_oversized_stall_answered_by_next_feed},
    {"cut_short_abandoned", test_cut_short_abandoned},
    {"slow_frame_within_timeout_completes", test_slow_frame_within_timeout_completes},
    {"interbyte_timeout_zero_never_expires", test_interbyte_timeout_zero_never_expires},
    {"clock_wrap", test_clock_wrap},
    {"non_request_flags_ignored", test_non_request_flags_ignored},
};

int main(void)
{
    const test_case_t *const groups[] = {parser_tests, memory_tests, exec_tests,    auth_tests,
                                         seal_tests,   guard_tests,  feature_tests, session_tests};
    const size_t counts[] = {sizeof parser_tests / sizeof parser_tests[0],
                             memory_test_count,
                             exec_test_count,
                             auth_test_count,
                             seal_test_count,
                             guard_test_count,
                             feature_test_count,
                             session_test_count};
    return t_run_all(groups, counts, sizeof counts / sizeof counts[0]);
}

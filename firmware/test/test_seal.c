/* Tests of CRC-32, SEALED frames, and what AUTH_END and a change of host reset. */
#include <stdlib.h>
#include <string.h>

#include "jit_crc32.h"
#include "test_util.h"

/* bit by bit, straight from the definition: the reference for the table-driven one */
static uint32_t crc32_reference(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        }
    }
    return ~c;
}

static void test_crc32_vectors(void)
{
    CHECK_EQ(jit_crc32(0, "123456789", 9), 0xCBF43926u); /* the catalogue check value */
    CHECK_EQ(jit_crc32(0, NULL, 0), 0);
    uint8_t buf[1031];
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i * 37 + 11);
    }
    for (size_t len = 0; len <= sizeof buf; len += (len < 16 ? 1 : 97)) {
        CHECK_EQ(jit_crc32(0, buf, len), crc32_reference(buf, len));
    }
    /* continuing over any split gives the same value, from any alignment */
    for (size_t cut = 0; cut < 9; cut++) {
        CHECK_EQ(jit_crc32(jit_crc32(0, buf + 1, cut), buf + 1 + cut, 500 - cut), crc32_reference(buf + 1, 500));
    }
}

/* Encodes a SEALED request around (cmd, payload); returns the frame length. */
static size_t seal_encode(uint8_t *out, uint8_t cmd, uint8_t seq, const void *payload, uint32_t len)
{
    uint8_t *inner = malloc(JIT_SEAL_OVERHEAD + (size_t)len);
    inner[0] = cmd;
    inner[1] = seq;
    inner[2] = inner[3] = 0;
    if (len) {
        memcpy(inner + 4, payload, len);
    }
    /* the CRC covers the outer header too: encode once to get it, then place the CRC */
    size_t n = frame_encode(out, JIT_CMD_SEALED, JIT_FLAG_REQUEST, inner, len + JIT_SEAL_OVERHEAD);
    put32(inner + 4 + len, jit_crc32(0, out, 8 + 4 + (size_t)len));
    n = frame_encode(out, JIT_CMD_SEALED, JIT_FLAG_REQUEST, inner, len + JIT_SEAL_OVERHEAD);
    free(inner);
    return n;
}

/* Unwraps a sealed reply after checking its CRC and sequence byte. */
static reply_t unseal(reply_t r, uint8_t seq)
{
    reply_t bad = {0xff, 0xff, 0, NULL};
    if (!CHECK_EQ(r.cmd, JIT_CMD_SEALED) || !CHECK(r.len >= JIT_SEAL_OVERHEAD)) {
        return bad;
    }
    const uint8_t *frame = r.payload - 8;
    uint32_t body = r.len - JIT_SEAL_CRC_SIZE;
    if (!CHECK_EQ(get32(r.payload + body), jit_crc32(0, frame, 8 + (size_t)body)) || !CHECK_EQ(r.payload[1], seq) ||
        !CHECK(r.payload[2] == 0 && r.payload[3] == 0)) {
        return bad;
    }
    return (reply_t){r.payload[0], r.flags, r.len - JIT_SEAL_OVERHEAD, r.payload + 4};
}

static reply_t sealed_request(uint8_t cmd, uint8_t seq, const void *payload, uint32_t len)
{
    uint8_t *frame = malloc(10 + JIT_SEAL_OVERHEAD + (size_t)len);
    reply_t r = feed_for_reply(frame, seal_encode(frame, cmd, seq, payload, len));
    return r.flags == 0xff ? r : unseal(r, seq);
}

static uint32_t live_allocs(void)
{
    reply_t r = request(JIT_CMD_LIST_ALLOCS, NULL, 0);
    return r.flags == JIT_FLAG_OK ? get32(r.payload) : UINT32_MAX;
}

static void test_sealed_ping_and_info(void)
{
    fx_setup(NULL);
    reply_t r = sealed_request(JIT_CMD_PING, 7, "hello", 5);
    if (is_ok(r, JIT_CMD_PING, 5)) {
        CHECK_MEM(r.payload, "hello", 5);
    }
    r = sealed_request(JIT_CMD_INFO, 200, NULL, 0);
    if (is_ok(r, JIT_CMD_INFO, JIT_INFO_SIZE)) {
        CHECK(get32(r.payload + 12) & JIT_CAP_SEALED);
    }
    /* a plain request after a sealed one is answered plainly */
    CHECK(is_ok(request(JIT_CMD_PING, "x", 1), JIT_CMD_PING, 1));
}

static void test_sealed_commands_and_errors(void)
{
    fx_setup(NULL);
    uint8_t p[12];
    put32(p, 64);
    put32(p + 4, JIT_CAP_MALLOC_EXEC);
    put32(p + 8, 0);
    reply_t r = sealed_request(JIT_CMD_ALLOC, 1, p, 12);
    if (!is_ok(r, JIT_CMD_ALLOC, 8)) {
        return;
    }
    uint32_t addr = get32(r.payload);
    uint8_t w[8];
    put32(w, addr);
    memcpy(w + 4, "abcd", 4);
    CHECK(is_ok(sealed_request(JIT_CMD_WRITE_MEM, 2, w, 8), JIT_CMD_WRITE_MEM, 8));
    put32(w + 4, 4);
    r = sealed_request(JIT_CMD_READ_MEM, 3, w, 8);
    if (is_ok(r, JIT_CMD_READ_MEM, 4)) {
        CHECK_MEM(r.payload, "abcd", 4);
    }
    put32(w, addr + 4096);
    CHECK_EQ(err_of(sealed_request(JIT_CMD_FREE, 4, w, 4)), JIT_ERR_NOT_ALLOCATED); /* sealed error */
    CHECK_EQ(err_of(sealed_request(0x77, 5, NULL, 0)), JIT_ERR_UNKNOWN_CMD);
    CHECK_EQ(err_of(sealed_request(JIT_CMD_HEAP_INFO, 6, "x", 1)), JIT_ERR_BAD_LENGTH);
    CHECK_EQ(err_of(sealed_request(JIT_CMD_SEALED, 7, "12345678", 8)), JIT_ERR_BAD_ARGUMENT); /* nesting */
    put32(w, addr);
    CHECK(is_ok(sealed_request(JIT_CMD_FREE, 8, w, 4), JIT_CMD_FREE, 4));
}

static void test_sealed_reserved_bytes_and_short_frame(void)
{
    fx_setup(NULL);
    uint8_t frame[32];
    size_t n = seal_encode(frame, JIT_CMD_PING, 1, NULL, 0);
    frame[8 + 2] = 1; /* reserved byte; CRC and sum fixed up below */
    put32(frame + 8 + 4, jit_crc32(0, frame, 12));
    uint16_t sum = 0;
    for (size_t i = 0; i < n - 2; i++) {
        sum = (uint16_t)(sum + frame[i]);
    }
    frame[n - 2] = (uint8_t)sum;
    frame[n - 1] = (uint8_t)(sum >> 8);
    pc_port_clear_output();
    feed(frame, n);
    reply_t r[2];
    if (CHECK_EQ(captured_frames(r, 2), 1)) {
        CHECK_EQ(err_of(unseal(r[0], 1)), JIT_ERR_BAD_ARGUMENT);
    }
    /* shorter than the seal itself: a plain refusal */
    reply_t e = request(JIT_CMD_SEALED, "\x01\x02\x00\x00\x00\x00\x00", 7);
    CHECK_EQ(e.cmd, JIT_CMD_SEALED);
    CHECK_EQ(err_of(e), JIT_ERR_BAD_LENGTH);
}

/*
 * The reason for sealing: damage the 16-bit sum cannot see (one byte up, another down by the
 * same amount) is refused with a plain CHECKSUM, and the request does not run.
 */
static void test_crc_catches_what_the_sum_misses(void)
{
    fx_setup(NULL);
    uint8_t p[12], frame[64];
    put32(p, 64);
    put32(p + 4, JIT_CAP_MALLOC_EXEC);
    put32(p + 8, 0);
    size_t n = seal_encode(frame, JIT_CMD_ALLOC, 9, p, 12);
    uint32_t refused = 0, tried = 0;
    /* every pair of bytes in the payload (seal header, inner payload, CRC) */
    for (size_t i = 8; i + 1 < n - 2; i++) {
        for (size_t j = i + 1; j < n - 2; j++) {
            uint8_t d[64];
            memcpy(d, frame, n);
            if (d[i] < 0xff && d[j] > 0) {
                d[i]++;
                d[j]--;
            } else if (d[i] > 0 && d[j] < 0xff) {
                d[i]--;
                d[j]++;
            } else {
                continue;
            }
            tried++;
            pc_port_clear_output();
            feed(d, n);
            reply_t r[2];
            if (CHECK_EQ(captured_frames(r, 2), 1) && CHECK_EQ(r[0].flags, JIT_FLAG_ERROR) &&
                CHECK_EQ(get32(r[0].payload), JIT_ERR_CHECKSUM)) {
                refused++;
            }
        }
    }
    CHECK(tried > 100);
    CHECK_EQ(refused, tried);
    CHECK_EQ(live_allocs(), 0);
    CHECK_EQ(g_core.frames_bad, tried);
}

static void test_sealed_call_output_is_sealed(void)
{
    fx_setup(NULL);
    opt_in(JIT_FEATURE_OUTPUT);
    uint32_t code[8] = {PC_OP_PRINT, 4, 0, PC_OP_RET, 5, 0};
    memcpy(&code[2], "hey\n", 4);
    uint32_t addr = alloc_ok(64, JIT_CAP_MALLOC_EXEC, 0);
    write_ok(addr, code, sizeof code);
    uint8_t p[8];
    put32(p, addr);
    put32(p + 4, 0);
    uint8_t frame[64];
    size_t n = seal_encode(frame, JIT_CMD_CALL, 42, p, 8);
    pc_port_clear_output();
    feed(frame, n);
    reply_t r[4];
    size_t count = captured_frames(r, 4);
    if (!CHECK(count >= 2)) {
        return;
    }
    for (size_t i = 0; i + 1 < count; i++) {
        reply_t out = unseal(r[i], 42);
        CHECK_EQ(out.cmd, JIT_CMD_OUTPUT);
    }
    reply_t out = unseal(r[0], 42);
    if (CHECK_EQ(out.len, 4)) {
        CHECK_MEM(out.payload, "hey\n", 4);
    }
    reply_t last = unseal(r[count - 1], 42);
    if (is_ok(last, JIT_CMD_CALL, JIT_CALL_REPLY_SIZE)) {
        CHECK_EQ(get32(last.payload), 5);
    }
}

static void test_sealed_requests_obey_auth(void)
{
    setup_auth();
    CHECK_EQ(err_of(sealed_request(JIT_CMD_HEAP_INFO, 1, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED);
    reply_t r = sealed_request(JIT_CMD_AUTH_CHALLENGE, 2, NULL, 0);
    if (!is_ok(r, JIT_CMD_AUTH_CHALLENGE, 32)) {
        return;
    }
    uint8_t mac[32];
    mac_of(r.payload, mac);
    CHECK(is_ok(sealed_request(JIT_CMD_AUTH_RESPONSE, 3, mac, 32), JIT_CMD_AUTH_RESPONSE, 4));
    /* authenticated: protected commands come in SESSION frames, a CRC is no proof */
    CHECK_EQ(err_of(sealed_request(JIT_CMD_HEAP_INFO, 4, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED);
    CHECK(is_ok(session_request(JIT_CMD_HEAP_INFO, NULL, 0), JIT_CMD_HEAP_INFO, 16));
}

static void test_host_change_drops_auth_and_partial_frame(void)
{
    setup_auth();
    uint8_t mac[32];
    if (!authenticate(mac)) {
        return;
    }
    uint8_t a[12] = {16};
    reply_t got = session_request(JIT_CMD_ALLOC, a, 12);
    uint32_t addr = is_ok(got, JIT_CMD_ALLOC, 8) ? get32(got.payload) : 0;
    /* the old host asked for a nonce, and leaves half a frame behind */
    reply_t r = request(JIT_CMD_AUTH_CHALLENGE, NULL, 0);
    uint8_t pending_mac[32] = {0};
    if (is_ok(r, JIT_CMD_AUTH_CHALLENGE, 32)) {
        mac_of(r.payload, pending_mac);
    }
    uint8_t frame[32];
    frame_encode(frame, JIT_CMD_PING, JIT_FLAG_REQUEST, "abcdefgh", 8);
    pc_port_clear_output();
    feed(frame, 6);
    jit_core_host_changed(&g_core);
    CHECK(nothing_sent());
    CHECK_EQ(err_of(request(JIT_CMD_HEAP_INFO, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED);
    /* the right answer to the old host's nonce is refused: that nonce is void */
    CHECK_EQ(err_of(request(JIT_CMD_AUTH_RESPONSE, pending_mac, 32)), JIT_ERR_AUTH_FAILED);
    /* the allocations stay: a new host finds them with LIST_ALLOCS after authenticating */
    if (authenticate(mac)) {
        reply_t list = session_request(JIT_CMD_LIST_ALLOCS, NULL, 0);
        if (is_ok(list, JIT_CMD_LIST_ALLOCS, 16)) {
            CHECK_EQ(get32(list.payload + 4), addr);
        }
    }
}

static void test_host_change_keeps_rate_limit(void)
{
    setup_auth();
    uint8_t mac[32] = {0};
    for (int i = 0; i < 3; i++) {
        reply_t r = request(JIT_CMD_AUTH_CHALLENGE, NULL, 0);
        CHECK(is_ok(r, JIT_CMD_AUTH_CHALLENGE, 32));
        CHECK_EQ(err_of(request(JIT_CMD_AUTH_RESPONSE, mac, 32)), JIT_ERR_AUTH_FAILED);
    }
    jit_core_host_changed(&g_core); /* reopening the port is no way around the wait */
    CHECK_EQ(err_of(request(JIT_CMD_AUTH_CHALLENGE, NULL, 0)), JIT_ERR_RATE_LIMITED);
}

static void test_auth_end(void)
{
    setup_auth();
    uint8_t mac[32];
    if (!authenticate(mac)) {
        return;
    }
    CHECK(is_ok(session_request(JIT_CMD_HEAP_INFO, NULL, 0), JIT_CMD_HEAP_INFO, 16));
    CHECK_EQ(status_of(session_request(JIT_CMD_AUTH_END, NULL, 0), JIT_CMD_AUTH_END), 0);
    CHECK_EQ(err_of(request(JIT_CMD_HEAP_INFO, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED);
    CHECK(is_ok(request(JIT_CMD_AUTH_END, NULL, 0), JIT_CMD_AUTH_END, 4)); /* allowed, and harmless, any time */
    CHECK_EQ(err_of(request(JIT_CMD_AUTH_END, "x", 1)), JIT_ERR_BAD_LENGTH);
}

static void test_host_change_without_auth(void)
{
    fx_setup(NULL);
    jit_core_host_changed(&g_core);
    CHECK(is_ok(request(JIT_CMD_HEAP_INFO, NULL, 0), JIT_CMD_HEAP_INFO, 16));
    CHECK_EQ(g_core.host_changes, 1);
}

const test_case_t seal_tests[] = {
    {"crc32_vectors", test_crc32_vectors},
    {"sealed_ping_and_info", test_sealed_ping_and_info},
    {"sealed_commands_and_errors", test_sealed_commands_and_errors},
    {"sealed_reserved_bytes_and_short_frame", test_sealed_reserved_bytes_and_short_frame},
    {"crc_catches_what_the_sum_misses", test_crc_catches_what_the_sum_misses},
    {"sealed_call_output_is_sealed", test_sealed_call_output_is_sealed},
    {"sealed_requests_obey_auth", test_sealed_requests_obey_auth},
    {"host_change_drops_auth_and_partial_frame", test_host_change_drops_auth_and_partial_frame},
    {"host_change_keeps_rate_limit", test_host_change_keeps_rate_limit},
    {"auth_end", test_auth_end},
    {"host_change_without_auth", test_host_change_without_auth},
};
const size_t seal_test_count = sizeof seal_tests / sizeof seal_tests[0];

/*
 * The authenticated session: a key derived from the challenge exchange, and SESSION frames MACed
 * with it. Once a host has authenticated, nothing but PING, INFO, FEATURES and the AUTH
 * challenge-response runs unless it comes in a SESSION frame with a fresh counter.
 */
#include <stdlib.h>
#include <string.h>

#include "jit_auth.h"
#include "test_util.h"

#define SECRET "correct horse battery staple"

static uint32_t s_counter;

/* the frame's first 16 bytes of HMAC-SHA256(key, frame up to the tag), one-shot */
static void tag_of(const uint8_t *key, const uint8_t *frame, size_t n, uint8_t tag[32])
{
    jit_hmac_sha256(key, 32, frame, n, tag);
}

size_t session_encode(uint8_t *out, const uint8_t key[32], uint8_t cmd, uint32_t counter, const void *payload,
                      uint32_t len)
{
    uint8_t *inner = calloc(1, JIT_SESSION_OVERHEAD + (size_t)len);
    inner[0] = cmd;
    inner[1] = (uint8_t)counter;
    put32(inner + 4, counter);
    if (len) {
        memcpy(inner + JIT_SESSION_HEADER_SIZE, payload, len);
    }
    size_t n = frame_encode(out, JIT_CMD_SESSION, JIT_FLAG_REQUEST, inner, len + JIT_SESSION_OVERHEAD);
    uint8_t tag[32];
    tag_of(key, out, 8 + JIT_SESSION_HEADER_SIZE + (size_t)len, tag);
    memcpy(inner + JIT_SESSION_HEADER_SIZE + len, tag, JIT_SESSION_TAG_SIZE);
    n = frame_encode(out, JIT_CMD_SESSION, JIT_FLAG_REQUEST, inner, len + JIT_SESSION_OVERHEAD);
    free(inner);
    return n;
}

/* Checks a SESSION reply's MAC and counter; returns the inner reply. */
static reply_t open_session(reply_t r, const uint8_t key[32], uint32_t counter)
{
    reply_t bad = {0xff, 0xff, 0, NULL};
    if (!CHECK_EQ(r.cmd, JIT_CMD_SESSION) || !CHECK(r.len >= JIT_SESSION_OVERHEAD)) {
        return bad;
    }
    uint32_t body = r.len - JIT_SESSION_TAG_SIZE;
    uint8_t tag[32];
    tag_of(key, r.payload - 8, 8 + (size_t)body, tag);
    if (!CHECK_MEM(r.payload + body, tag, JIT_SESSION_TAG_SIZE) || !CHECK_EQ(get32(r.payload + 4), counter)) {
        return bad;
    }
    return (reply_t){r.payload[0], r.flags, r.len - JIT_SESSION_OVERHEAD, r.payload + JIT_SESSION_HEADER_SIZE};
}

reply_t session_request(uint8_t cmd, const void *payload, uint32_t len)
{
    uint8_t *frame = malloc(10 + JIT_SESSION_OVERHEAD + (size_t)len);
    uint32_t counter = ++s_counter;
    size_t n = session_encode(frame, g_core.session_key, cmd, counter, payload, len);
    uint8_t key[32];
    memcpy(key, g_core.session_key, 32); /* AUTH_END answers under the key it ends */
    reply_t r = feed_for_reply(frame, n);
    return r.flags == 0xff ? r : open_session(r, key, counter);
}

/* Authenticates with a host nonce; checks the session key against one computed here. */
static bool start_session(void)
{
    setup_auth();
    s_counter = 0;
    reply_t r = request(JIT_CMD_AUTH_CHALLENGE, NULL, 0);
    if (!is_ok(r, JIT_CMD_AUTH_CHALLENGE, 32)) {
        return false;
    }
    uint8_t nonce[32], resp[48], msg[13 + 32 + 16], key[32];
    memcpy(nonce, r.payload, 32);
    mac_of(nonce, resp);
    for (int i = 0; i < 16; i++) {
        resp[32 + i] = (uint8_t)(0xa0 + i);
    }
    if (CHECK_EQ(status_of(request(JIT_CMD_AUTH_RESPONSE, resp, 48), JIT_CMD_AUTH_RESPONSE), 0) == false) {
        return false;
    }
    memcpy(msg, "p4jit-session", 13);
    memcpy(msg + 13, nonce, 32);
    memcpy(msg + 45, resp + 32, 16);
    jit_hmac_sha256((const uint8_t *)SECRET, strlen(SECRET), msg, sizeof msg, key);
    return CHECK_MEM(g_core.session_key, key, 32);
}

static void test_session_required_after_auth(void)
{
    if (!start_session()) {
        return;
    }
    /* another process on the port, without the key: plain or CRC-sealed, nothing protected runs */
    CHECK_EQ(err_of(request(JIT_CMD_LIST_ALLOCS, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED);
    uint8_t a[12];
    put32(a, 64);
    put32(a + 4, 0);
    put32(a + 8, 0);
    CHECK_EQ(err_of(request(JIT_CMD_ALLOC, a, 12)), JIT_ERR_NOT_AUTHENTICATED);
    CHECK_EQ(err_of(request(JIT_CMD_AUTH_END, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED); /* cannot end it */
    CHECK(is_ok(request(JIT_CMD_PING, "p", 1), JIT_CMD_PING, 1));
    CHECK(is_ok(request(JIT_CMD_INFO, NULL, 0), JIT_CMD_INFO, JIT_INFO_SIZE));
    /* the session itself */
    reply_t r = session_request(JIT_CMD_ALLOC, a, 12);
    CHECK(is_ok(r, JIT_CMD_ALLOC, 8));
    r = session_request(JIT_CMD_LIST_ALLOCS, NULL, 0);
    if (is_ok(r, JIT_CMD_LIST_ALLOCS, 16)) {
        CHECK_EQ(get32(r.payload), 1);
    }
    CHECK_EQ(err_of(session_request(0x77, NULL, 0)), JIT_ERR_UNKNOWN_CMD); /* errors come MACed too */
}

static void test_session_refuses_forgery_and_replay(void)
{
    if (!start_session()) {
        return;
    }
    uint8_t frame[64], wrong_key[32] = {0};
    size_t n = session_encode(frame, wrong_key, JIT_CMD_LIST_ALLOCS, 100, NULL, 0);
    pc_port_clear_output();
    feed(frame, n);
    reply_t r[2];
    if (CHECK_EQ(captured_frames(r, 2), 1)) {
        CHECK_EQ(r[0].cmd, JIT_CMD_SESSION);
        CHECK_EQ(err_of(r[0]), JIT_ERR_CHECKSUM); /* plain: it did not run */
    }
    /* a recorded frame played again: its counter is spent */
    n = session_encode(frame, g_core.session_key, JIT_CMD_HEAP_INFO, 5, NULL, 0);
    pc_port_clear_output();
    feed(frame, n);
    CHECK_EQ(captured_frames(r, 2), 1);
    pc_port_clear_output();
    feed(frame, n);
    if (CHECK_EQ(captured_frames(r, 2), 1)) {
        CHECK_EQ(err_of(r[0]), JIT_ERR_NOT_AUTHENTICATED);
        CHECK_EQ(r[0].len, 4);
    }
    /* one flipped byte, the sum fixed up: the MAC refuses it */
    n = session_encode(frame, g_core.session_key, JIT_CMD_HEAP_INFO, 6, NULL, 0);
    frame[8] ^= 1;
    frame[9] = (uint8_t)(frame[9] - 1 + 2 * (frame[8] & 1));
    feed(frame, 0);
    pc_port_clear_output();
    feed(frame, n);
    if (CHECK_EQ(captured_frames(r, 2), 1)) {
        CHECK_EQ(err_of(r[0]), JIT_ERR_CHECKSUM);
    }
}

static void test_session_ends(void)
{
    if (!start_session()) {
        return;
    }
    CHECK_EQ(status_of(session_request(JIT_CMD_AUTH_END, NULL, 0), JIT_CMD_AUTH_END), 0);
    CHECK_EQ(g_core.session, false);
    CHECK_EQ(err_of(request(JIT_CMD_SESSION, "12345678123456781234567x", 24)), JIT_ERR_NOT_AUTHENTICATED);
    CHECK_EQ(err_of(request(JIT_CMD_HEAP_INFO, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED);
    if (!start_session()) {
        return;
    }
    jit_core_host_changed(&g_core);
    CHECK_EQ(g_core.session, false);
    CHECK_EQ(err_of(request(JIT_CMD_HEAP_INFO, NULL, 0)), JIT_ERR_NOT_AUTHENTICATED);
    /* a device without a secret keeps the seed's unauthenticated mode */
    fx_setup(NULL);
    CHECK(is_ok(request(JIT_CMD_HEAP_INFO, NULL, 0), JIT_CMD_HEAP_INFO, 16));
    CHECK_EQ(err_of(request(JIT_CMD_SESSION, "12345678123456781234567x", 24)), JIT_ERR_NOT_AUTHENTICATED);
}

const test_case_t session_tests[] = {
    {"session_required_after_auth", test_session_required_after_auth},
    {"session_refuses_forgery_and_replay", test_session_refuses_forgery_and_replay},
    {"session_ends", test_session_ends},
};
const size_t session_test_count = sizeof session_tests / sizeof session_tests[0];

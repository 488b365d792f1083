/* The test framework and fixture of test_util.h. */
#include "test_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_test;    /* the case running */
static unsigned s_test_fails; /* failed checks in it */

static void fail_line(const char *file, int line, const char *what)
{
    printf("FAIL %s: %s:%d: %s\n", s_test, file, line, what);
    s_test_fails++;
}

bool t_check(bool ok, const char *expr, const char *file, int line)
{
    if (!ok) {
        fail_line(file, line, expr);
    }
    return ok;
}

bool t_check_eq(uint64_t got, uint64_t want, const char *expr, const char *file, int line)
{
    if (got != want) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s (got 0x%" PRIx64 ", want 0x%" PRIx64 ")", expr, got, want);
        fail_line(file, line, msg);
    }
    return got == want;
}

bool t_check_mem(const void *got, const void *want, size_t n, const char *expr, const char *file, int line)
{
    if (got == NULL || memcmp(got, want, n) != 0) {
        char msg[512];
        int at = snprintf(msg, sizeof msg, "%s: got", expr);
        for (size_t i = 0; got != NULL && i < n && at < (int)sizeof msg - 4; i++) {
            at += snprintf(msg + at, sizeof msg - (size_t)at, " %02x", ((const uint8_t *)got)[i]);
        }
        fail_line(file, line, msg);
        return false;
    }
    return true;
}

int t_run_all(const test_case_t *const *groups, const size_t *counts, size_t ngroups)
{
    unsigned passed = 0, failed = 0;
    for (size_t g = 0; g < ngroups; g++) {
        for (size_t i = 0; i < counts[g]; i++) {
            s_test = groups[g][i].name;
            s_test_fails = 0;
            fx_setup(NULL);
            groups[g][i].fn();
            if (s_test_fails == 0) {
                passed++;
            } else {
                failed++;
            }
        }
    }
    pc_port_fini();
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

/* ---- fixture ---- */

jit_core_t g_core;
static uint8_t *s_rx;
static jit_alloc_entry_t *s_table;

fx_options_t fx_defaults(void)
{
    fx_options_t o = {
        .max_payload = 512,
        .max_allocs = 8,
        .max_alloc_bytes = 0,
        .default_call_ms = 2000,
        .max_call_ms = 10000,
        .interbyte_timeout_ms = 500,
        .guard_size = 32,
        .secret = NULL,
        .port = pc_port_defaults(),
    };
    return o;
}

void fx_setup(const fx_options_t *opts)
{
    fx_options_t o = opts ? *opts : fx_defaults();
    pc_port_init(&o.port);
    /* exact sizes, so AddressSanitizer sees any access past the receive buffer or the table */
    free(s_rx);
    free(s_table);
    s_rx = malloc(o.max_payload ? o.max_payload : 1);
    s_table = malloc(sizeof *s_table * (o.max_allocs ? o.max_allocs : 1));
    jit_core_config_t cfg = {
        .rx_buffer = s_rx,
        .max_payload = o.max_payload,
        .table = s_table,
        .max_allocs = o.max_allocs,
        .max_alloc_bytes = o.max_alloc_bytes,
        .default_call_ms = o.default_call_ms,
        .max_call_ms = o.max_call_ms,
        .interbyte_timeout_ms = o.interbyte_timeout_ms,
        .guard_size = o.guard_size,
        .auth_secret = (const uint8_t *)o.secret,
        .auth_secret_len = o.secret ? strlen(o.secret) : 0,
    };
    jit_core_init(&g_core, &cfg);
}

/* ---- frames ---- */

void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t get64(const uint8_t *p)
{
    return get32(p) | ((uint64_t)get32(p + 4) << 32);
}

size_t frame_encode(uint8_t *out, uint8_t cmd, uint8_t flags, const void *payload, uint32_t len)
{
    uint16_t sum = 0;
    out[0] = JIT_MAGIC0;
    out[1] = JIT_MAGIC1;
    out[2] = cmd;
    out[3] = flags;
    put32(out + 4, len);
    if (len) {
        memcpy(out + 8, payload, len);
    }
    for (size_t i = 0; i < 8 + (size_t)len; i++) {
        sum = (uint16_t)(sum + out[i]);
    }
    out[8 + len] = (uint8_t)sum;
    out[9 + len] = (uint8_t)(sum >> 8);
    return 10 + (size_t)len;
}

size_t captured_frames(reply_t *out, size_t max)
{
    size_t len, n = 0, at = 0;
    const uint8_t *b = pc_port_output(&len);
    while (at < len) {
        if (!CHECK(len - at >= 10) || !CHECK(b[at] == JIT_MAGIC0 && b[at + 1] == JIT_MAGIC1) ||
            !CHECK(b[at + 3] == JIT_FLAG_OK || b[at + 3] == JIT_FLAG_ERROR)) {
            return n;
        }
        uint32_t plen = get32(b + at + 4);
        if (!CHECK(plen <= len - at - 10)) {
            return n;
        }
        uint16_t sum = 0;
        for (size_t i = 0; i < 8 + (size_t)plen; i++) {
            sum = (uint16_t)(sum + b[at + i]);
        }
        CHECK_EQ(b[at + 8 + plen] | (b[at + 9 + plen] << 8), sum);
        if (n < max) {
            out[n] = (reply_t){b[at + 2], b[at + 3], plen, b + at + 8};
        }
        n++;
        at += 10 + (size_t)plen;
    }
    return n < max ? n : max;
}

void feed(const void *bytes, size_t len)
{
    jit_core_feed(&g_core, bytes, len);
}

void send_request(uint8_t cmd, const void *payload, uint32_t len)
{
    uint8_t *frame = malloc(10 + (size_t)len);
    size_t n = frame_encode(frame, cmd, JIT_FLAG_REQUEST, payload, len);
    pc_port_clear_output();
    feed(frame, n);
    free(frame);
}

reply_t single_reply(void)
{
    reply_t r[2];
    if (!CHECK_EQ(captured_frames(r, 2), 1)) {
        return (reply_t){0xff, 0xff, 0, NULL};
    }
    return r[0];
}

reply_t feed_for_reply(uint8_t *frame, size_t n)
{
    pc_port_clear_output();
    feed(frame, n);
    free(frame);
    return single_reply();
}

reply_t request(uint8_t cmd, const void *payload, uint32_t len)
{
    send_request(cmd, payload, len);
    reply_t r = single_reply();
    if (r.flags != 0xff) {
        CHECK_EQ(r.cmd, cmd);
    }
    return r;
}

uint32_t err_of(reply_t r)
{
    if (!CHECK_EQ(r.flags, JIT_FLAG_ERROR) || !CHECK(r.len >= 4)) {
        return UINT32_MAX;
    }
    return get32(r.payload);
}

bool is_ok(reply_t r, uint8_t cmd, uint32_t len)
{
    bool ok = CHECK_EQ(r.cmd, cmd);
    ok = CHECK_EQ(r.flags, JIT_FLAG_OK) && ok; /* every check runs, so each mismatch is reported */
    ok = CHECK_EQ(r.len, len) && ok;
    if (!ok && r.flags == JIT_FLAG_ERROR && r.len >= 4) {
        printf("     (error reply, code %u)\n", (unsigned)get32(r.payload));
    }
    return ok;
}

bool nothing_sent(void)
{
    size_t len;
    pc_port_output(&len);
    pc_port_clear_output();
    return len == 0;
}

/* ---- commands ---- */

static reply_t alloc_request(uint32_t size, uint32_t caps, uint32_t align)
{
    uint8_t p[12];
    put32(p, size);
    put32(p + 4, caps);
    put32(p + 8, align);
    return request(JIT_CMD_ALLOC, p, sizeof p);
}

uint32_t alloc_ok(uint32_t size, uint32_t caps, uint32_t align)
{
    reply_t r = alloc_request(size, caps, align);
    if (!is_ok(r, JIT_CMD_ALLOC, 8) || !CHECK_EQ(get32(r.payload + 4), JIT_ERR_OK)) {
        return 0;
    }
    CHECK(get32(r.payload) != 0);
    return get32(r.payload);
}

uint32_t alloc_fail(uint32_t size, uint32_t caps, uint32_t align)
{
    reply_t r = alloc_request(size, caps, align);
    if (!is_ok(r, JIT_CMD_ALLOC, 8)) {
        return UINT32_MAX;
    }
    CHECK_EQ(get32(r.payload), 0);
    return get32(r.payload + 4);
}

uint32_t status_of(reply_t r, uint8_t cmd)
{
    if (r.flags == JIT_FLAG_OK) {
        CHECK(is_ok(r, cmd, 4));
        CHECK_EQ(get32(r.payload), 0);
        return 0;
    }
    return err_of(r);
}

void opt_in(uint32_t features)
{
    uint8_t p[4];
    put32(p, features);
    reply_t r = request(JIT_CMD_FEATURES, p, 4);
    if (is_ok(r, JIT_CMD_FEATURES, 4)) {
        CHECK_EQ(get32(r.payload), features & JIT_FEATURES_ALL);
    }
}

uint32_t free_addr(uint32_t addr)
{
    uint8_t p[4];
    put32(p, addr);
    return status_of(request(JIT_CMD_FREE, p, 4), JIT_CMD_FREE);
}

void write_ok(uint32_t addr, const void *data, uint32_t n)
{
    uint8_t *p = malloc(4 + (size_t)n);
    put32(p, addr);
    memcpy(p + 4, data, n);
    reply_t r = request(JIT_CMD_WRITE_MEM, p, 4 + n);
    free(p);
    if (is_ok(r, JIT_CMD_WRITE_MEM, 8)) {
        CHECK_EQ(get32(r.payload), n);
        CHECK_EQ(get32(r.payload + 4), 0);
    }
}

void heap_info(uint32_t w[4])
{
    reply_t r = request(JIT_CMD_HEAP_INFO, NULL, 0);
    memset(w, 0, 16);
    if (is_ok(r, JIT_CMD_HEAP_INFO, 16)) {
        for (int i = 0; i < 4; i++) {
            w[i] = get32(r.payload + 4 * i);
        }
    }
}

/*
 * Writes the fuzzer's seed corpus: one small input per scenario, valid frames of every command,
 * in the format of fuzz_core.h. It runs each scenario on the real core as it goes, so ALLOC
 * addresses and authentication nonces in later frames are the ones the fuzzer will meet, and it
 * checks every seed with the fuzz target's invariants before writing it.
 *   gen_corpus DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_core.h"
#include "pc_port.h"
#include "jit_auth.h"
#include "jit_crc32.h"
#include "jit_protocol.h"

#define SEED_MAX 8192

static uint8_t s_seed[SEED_MAX];
static size_t s_len;
static const char *s_dir;
static unsigned s_written;

static void begin(uint8_t options)
{
    fuzz_setup(options);
    s_seed[0] = options;
    s_len = 1;
}

/* Appends bytes as segments of at most 64, the first one after the clock step `advance`. */
static void raw(const void *bytes, size_t n, unsigned advance)
{
    const uint8_t *b = bytes;
    if (n == 0) { /* a clock step alone: a segment of one byte that no parser state minds */
        raw("\0", 1, advance);
        return;
    }
    while (n > 0) {
        size_t take = n < FUZZ_SEGMENT_MAX ? n : FUZZ_SEGMENT_MAX;
        uint8_t h = (uint8_t)((take - 1) | (advance << FUZZ_ADVANCE_SHIFT));
        if (s_len + 1 + take > SEED_MAX) {
            fprintf(stderr, "gen_corpus: seed too large\n");
            exit(1);
        }
        s_seed[s_len++] = h;
        memcpy(s_seed + s_len, b, take);
        pc_port_clear_output();
        fuzz_segment(h, b, take);
        s_len += take;
        b += take;
        n -= take;
        advance = 0;
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Sends a frame; returns the payload of the last frame the device answered with (or NULL). */
static const uint8_t *frame(uint8_t cmd, uint8_t flags, const void *payload, uint32_t len)
{
    static uint8_t buf[SEED_MAX];
    uint16_t sum = 0;
    buf[0] = JIT_MAGIC0;
    buf[1] = JIT_MAGIC1;
    buf[2] = cmd;
    buf[3] = flags;
    put32(buf + 4, len);
    if (len) {
        memcpy(buf + 8, payload, len);
    }
    for (uint32_t i = 0; i < 8 + len; i++) {
        sum = (uint16_t)(sum + buf[i]);
    }
    buf[8 + len] = (uint8_t)sum;
    buf[9 + len] = (uint8_t)(sum >> 8);
    raw(buf, 10 + len, 0);
    size_t out_len, at = 0;
    const uint8_t *out = pc_port_output(&out_len), *last = NULL;
    while (out_len - at >= 10) {
        last = out + at + 8;
        at += 10 + (size_t)get32(out + at + 4);
    }
    return last;
}

static const uint8_t *req(uint8_t cmd, const void *payload, uint32_t len)
{
    return frame(cmd, JIT_FLAG_REQUEST, payload, len);
}

static uint32_t alloc(uint32_t size, uint32_t caps, uint32_t align)
{
    uint8_t p[12];
    put32(p, size);
    put32(p + 4, caps);
    put32(p + 8, align);
    const uint8_t *r = req(JIT_CMD_ALLOC, p, 12);
    return r ? get32(r) : 0;
}

static void addr_cmd(uint8_t cmd, uint32_t addr)
{
    uint8_t p[4];
    put32(p, addr);
    req(cmd, p, 4);
}

static void write_mem(uint32_t addr, const uint32_t *words, uint32_t n)
{
    uint8_t p[4 + 4 * 64];
    put32(p, addr);
    for (uint32_t i = 0; i < n; i++) {
        put32(p + 4 + 4 * i, words[i]);
    }
    req(JIT_CMD_WRITE_MEM, p, 4 + 4 * n);
}

static void read_mem(uint32_t addr, uint32_t n)
{
    uint8_t p[8];
    put32(p, addr);
    put32(p + 4, n);
    req(JIT_CMD_READ_MEM, p, 8);
}

static void call(uint32_t entry, uint32_t limit, uint32_t nslots)
{
    uint8_t p[8 + 8 * 40];
    put32(p, entry);
    put32(p + 4, limit);
    for (uint32_t i = 0; i < 8 * nslots; i++) {
        p[8 + i] = (uint8_t)(i * 13 + 1);
    }
    req(JIT_CMD_CALL, p, 8 + 8 * nslots);
}

/* Uploads code words into a new executable allocation; returns its address. */
static uint32_t code(const uint32_t *words, uint32_t n)
{
    uint32_t a = alloc(4 * n + 16, JIT_CAP_MALLOC_EXEC, 0);
    write_mem(a, words, n);
    return a;
}

static void authenticate(void)
{
    const uint8_t *nonce = req(JIT_CMD_AUTH_CHALLENGE, NULL, 0);
    uint8_t mac[32];
    jit_hmac_sha256((const uint8_t *)FUZZ_SECRET, strlen(FUZZ_SECRET), nonce, 32, mac);
    req(JIT_CMD_AUTH_RESPONSE, mac, 32);
}

/* Authenticates with a host nonce; *key gets the session key the device derived too. */
static void start_session(uint8_t key[32])
{
    const uint8_t *nonce = req(JIT_CMD_AUTH_CHALLENGE, NULL, 0);
    uint8_t resp[32 + JIT_HOST_NONCE_SIZE], msg[13 + 32 + JIT_HOST_NONCE_SIZE];
    memcpy(msg, "p4jit-session", 13);
    memcpy(msg + 13, nonce, 32);
    jit_hmac_sha256((const uint8_t *)FUZZ_SECRET, strlen(FUZZ_SECRET), nonce, 32, resp);
    for (unsigned i = 0; i < JIT_HOST_NONCE_SIZE; i++) {
        resp[32 + i] = (uint8_t)(0x40 + i);
    }
    memcpy(msg + 45, resp + 32, JIT_HOST_NONCE_SIZE);
    jit_hmac_sha256((const uint8_t *)FUZZ_SECRET, strlen(FUZZ_SECRET), msg, sizeof msg, key);
    req(JIT_CMD_AUTH_RESPONSE, resp, sizeof resp);
}

/* A request in the session: counter and MAC under key (docs/protocol.md, SESSION). */
static const uint8_t *in_session(const uint8_t key[32], uint32_t counter, uint8_t cmd, const void *payload,
                                 uint32_t len)
{
    static uint8_t body[SEED_MAX];
    uint32_t outer = len + JIT_SESSION_OVERHEAD;
    uint8_t head[JIT_HEADER_SIZE] = {JIT_MAGIC0, JIT_MAGIC1, JIT_CMD_SESSION, JIT_FLAG_REQUEST}, tag[32];
    put32(head + 4, outer);
    memset(body, 0, JIT_SESSION_HEADER_SIZE);
    body[0] = cmd;
    body[1] = (uint8_t)counter;
    put32(body + 4, counter);
    if (len) {
        memcpy(body + JIT_SESSION_HEADER_SIZE, payload, len);
    }
    jit_hmac_t h;
    jit_hmac_begin(&h, key, 32);
    jit_hmac_update(&h, head, sizeof head);
    jit_hmac_update(&h, body, JIT_SESSION_HEADER_SIZE + (size_t)len);
    jit_hmac_end(&h, tag);
    memcpy(body + JIT_SESSION_HEADER_SIZE + len, tag, JIT_SESSION_TAG_SIZE);
    return frame(JIT_CMD_SESSION, JIT_FLAG_REQUEST, body, outer);
}

static void finish(const char *name)
{
    LLVMFuzzerTestOneInput(s_seed, s_len); /* aborts if the seed breaks an invariant */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(s_seed, 1, s_len, f) != s_len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        exit(1);
    }
    s_written++;
}

#define OPT_PAYLOAD(i) ((uint8_t)((i) << FUZZ_OPT_PAYLOAD_SHIFT))

static void memory_seeds(void)
{
    begin(OPT_PAYLOAD(1));
    req(JIT_CMD_PING, "hello", 5);
    req(JIT_CMD_INFO, NULL, 0);
    req(JIT_CMD_HEAP_INFO, NULL, 0);
    req(JIT_CMD_LIST_ALLOCS, NULL, 0);
    finish("queries");

    begin(OPT_PAYLOAD(1));
    const uint32_t caps[] = {0,
                             JIT_CAP_MALLOC_SPIRAM | JIT_CAP_MALLOC_8BIT,
                             JIT_CAP_MALLOC_INTERNAL,
                             JIT_CAP_MALLOC_DMA,
                             JIT_CAP_MALLOC_EXEC,
                             JIT_CAP_MALLOC_SPIRAM | JIT_CAP_MALLOC_DMA};
    const uint32_t aligns[] = {0, 16, 4096, 64, 3, 4};
    uint32_t a[6];
    for (int i = 0; i < 6; i++) {
        a[i] = alloc(100 + 50 * (uint32_t)i, caps[i], aligns[i]);
    }
    alloc(0, 0, 0);
    alloc(1u << 20, 0, 0);
    req(JIT_CMD_LIST_ALLOCS, NULL, 0);
    addr_cmd(JIT_CMD_FREE, a[1]);
    addr_cmd(JIT_CMD_FREE, a[1]);
    addr_cmd(JIT_CMD_FREE, a[2] + 4);
    req(JIT_CMD_HEAP_INFO, NULL, 0);
    finish("alloc_free");

    begin(OPT_PAYLOAD(2));
    uint32_t m = alloc(256, JIT_CAP_MALLOC_SPIRAM, 0);
    const uint32_t words[8] = {0x11111111, 0x22222222, 0xa55aa55a, 4, 5, 6, 7, 8};
    write_mem(m, words, 8);
    write_mem(m + 252, words, 2);
    write_mem(m + 256, words, 0);
    read_mem(m, 32);
    read_mem(m + 250, 8);
    read_mem(m, 2000);
    addr_cmd(JIT_CMD_FREE, m);
    read_mem(m, 4);
    finish("write_read");

    begin(OPT_PAYLOAD(0) | FUZZ_OPT_FEW_ALLOCS | FUZZ_OPT_BYTE_LIMIT);
    for (int i = 0; i < 5; i++) {
        alloc(700, 0, 0);
    }
    finish("limits");
}

static void exec_seeds(void)
{
    begin(OPT_PAYLOAD(1));
    const uint32_t ret[] = {PC_OP_RET, 0xfffffffe, 0x12345678};
    uint32_t e = code(ret, 3);
    addr_cmd(JIT_CMD_EXEC, e);
    call(e, 0, 2);
    call(e, 50, 32);
    call(e, 0, 33);
    call(e, 5000, 0);
    uint32_t data = alloc(64, JIT_CAP_MALLOC_SPIRAM, 0);
    addr_cmd(JIT_CMD_EXEC, data);
    finish("exec_call");

    begin(OPT_PAYLOAD(1));
    const uint32_t args[] = {PC_OP_RET_ARG, 2, PC_OP_RET_ARG, 9};
    uint32_t g = code(args, 4);
    call(g, 0, 3);
    call(g + 8, 0, 3);
    finish("call_args");

    begin(OPT_PAYLOAD(1));
    const uint32_t print[] = {PC_OP_PRINT, 6, 0x6c6c6568, 0x00000a6f, PC_OP_SLEEP, 20, PC_OP_RET, 7, 0};
    uint32_t p = code(print, 9);
    addr_cmd(JIT_CMD_EXEC, p); /* to the console */
    addr_cmd(JIT_CMD_FEATURES, JIT_FEATURE_OUTPUT);
    addr_cmd(JIT_CMD_EXEC, p); /* OUTPUT frames */
    call(p, 10, 0);
    finish("print_sleep");

    begin(OPT_PAYLOAD(1));
    const uint32_t fault[] = {PC_OP_FAULT, 7, 0x1234, PC_OP_SPIN, 0xdeadbeef};
    uint32_t f = code(fault, 5);
    addr_cmd(JIT_CMD_EXEC, f);
    req(JIT_CMD_LAST_FAULT, NULL, 0);
    addr_cmd(JIT_CMD_FEATURES, JIT_FEATURES_ALL);
    call(f + 12, 30, 0);
    addr_cmd(JIT_CMD_EXEC, f + 16);
    req(JIT_CMD_INFO, NULL, 0);
    req(JIT_CMD_LAST_FAULT, NULL, 0);
    req(JIT_CMD_AUTH_END, NULL, 0);
    addr_cmd(JIT_CMD_EXEC, f);
    finish("fault_timeout");

    begin(OPT_PAYLOAD(1));
    uint32_t buf = alloc(40, JIT_CAP_MALLOC_INTERNAL, 0);
    const uint32_t over[] = {PC_OP_FILL, buf - 2, 50, 0xab, PC_OP_RET, 1, 0};
    uint32_t o = code(over, 7);
    addr_cmd(JIT_CMD_EXEC, o);
    call(o, 0, 0);
    finish("overrun");
}

static void auth_seeds(void)
{
    begin(FUZZ_OPT_AUTH | OPT_PAYLOAD(1));
    req(JIT_CMD_HEAP_INFO, NULL, 0);
    authenticate();
    alloc(64, 0, 0);
    req(JIT_CMD_INFO, NULL, 0);
    finish("auth_ok");

    /* a session: its own requests run, anyone else's (plain, sealed, replayed) do not */
    begin(FUZZ_OPT_AUTH | OPT_PAYLOAD(1));
    uint8_t key[32], a[12] = {64};
    start_session(key);
    in_session(key, 1, JIT_CMD_HEAP_INFO, NULL, 0);
    const uint8_t *r = in_session(key, 2, JIT_CMD_ALLOC, a, 12);
    uint32_t addr = r ? get32(r + JIT_SESSION_HEADER_SIZE) : 0;
    req(JIT_CMD_LIST_ALLOCS, NULL, 0);
    addr_cmd(JIT_CMD_FREE, addr);
    req(JIT_CMD_AUTH_END, NULL, 0);
    in_session(key, 2, JIT_CMD_LIST_ALLOCS, NULL, 0); /* a spent counter */
    in_session(key, 3, JIT_CMD_SESSION, NULL, 0);     /* nested */
    in_session(key, 4, JIT_CMD_INFO, NULL, 0);
    uint8_t f[4];
    put32(f, addr);
    in_session(key, 5, JIT_CMD_FREE, f, 4);
    in_session(key, 6, JIT_CMD_AUTH_END, NULL, 0);
    in_session(key, 7, JIT_CMD_HEAP_INFO, NULL, 0); /* ended */
    finish("auth_session");

    begin(FUZZ_OPT_AUTH | OPT_PAYLOAD(1));
    uint8_t wrong[32] = {0};
    for (int i = 0; i < 10; i++) {
        for (int wait = 0; wait < 64; wait++) { /* a step of the inter-byte timeout each */
            raw("", 0, 3);
        }
        req(JIT_CMD_AUTH_CHALLENGE, NULL, 0);
        req(JIT_CMD_AUTH_RESPONSE, wrong, 32);
    }
    finish("auth_rate_limit");
}

/* A SEALED request around (cmd, payload); returns what frame() returns. */
static const uint8_t *sealed(uint8_t cmd, uint8_t seq, const void *payload, uint32_t len)
{
    static uint8_t inner[SEED_MAX];
    uint32_t outer = len + JIT_SEAL_OVERHEAD;
    uint8_t head[JIT_HEADER_SIZE] = {JIT_MAGIC0, JIT_MAGIC1, JIT_CMD_SEALED, JIT_FLAG_REQUEST};
    put32(head + 4, outer);
    inner[0] = cmd;
    inner[1] = seq;
    inner[2] = inner[3] = 0;
    if (len) {
        memcpy(inner + 4, payload, len);
    }
    put32(inner + 4 + len, jit_crc32(jit_crc32(0, head, sizeof head), inner, 4 + (size_t)len));
    return frame(JIT_CMD_SEALED, JIT_FLAG_REQUEST, inner, outer);
}

static void seal_seeds(void)
{
    begin(OPT_PAYLOAD(1) | FUZZ_OPT_FIX_SEALS);
    sealed(JIT_CMD_PING, 1, "hello", 5);
    sealed(JIT_CMD_INFO, 2, NULL, 0);
    uint8_t p[12];
    put32(p, 48);
    put32(p + 4, JIT_CAP_MALLOC_EXEC);
    put32(p + 8, 0);
    const uint8_t *r = sealed(JIT_CMD_ALLOC, 3, p, 12);
    uint32_t a = r ? get32(r + 4) : 0;
    const uint32_t ret[] = {PC_OP_PRINT, 2, 0x0a4b4f, PC_OP_RET, 7, 0};
    uint8_t w[4 + sizeof ret];
    put32(w, a);
    memcpy(w + 4, ret, sizeof ret);
    sealed(JIT_CMD_WRITE_MEM, 4, w, sizeof w);
    put32(p, a);
    put32(p + 4, 0); /* the default time limit */
    sealed(JIT_CMD_CALL, 5, p, 8);
    sealed(JIT_CMD_FREE, 6, w, 4);
    sealed(JIT_CMD_SEALED, 7, "12345678", 8); /* nested: refused */
    finish("sealed");

    begin(OPT_PAYLOAD(0) | FUZZ_OPT_AUTH | FUZZ_OPT_FIX_SEALS);
    sealed(JIT_CMD_HEAP_INFO, 1, NULL, 0); /* not authenticated */
    r = sealed(JIT_CMD_AUTH_CHALLENGE, 2, NULL, 0);
    if (r != NULL) {
        uint8_t mac[32];
        jit_hmac_sha256((const uint8_t *)FUZZ_SECRET, strlen(FUZZ_SECRET), r + 4, 32, mac);
        sealed(JIT_CMD_AUTH_RESPONSE, 3, mac, 32);
    }
    sealed(JIT_CMD_LIST_ALLOCS, 4, NULL, 0);
    req(JIT_CMD_AUTH_END, NULL, 0);
    req(JIT_CMD_LIST_ALLOCS, NULL, 0); /* not authenticated any more */
    req(JIT_CMD_SEALED, "short", 5);
    finish("sealed_auth");
}

static void parser_seeds(void)
{
    begin(OPT_PAYLOAD(0));
    static const uint8_t garbage[] = {0x00, 0xa5, 0xa5, 0x5a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                      0xa5, 0x5a, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x42, 0x99, 0x99};
    raw(garbage, sizeof garbage, 0);
    req(0x77, "?", 1);
    req(JIT_CMD_ALLOC, "short", 5);
    req(JIT_CMD_FREE, NULL, 0);
    req(JIT_CMD_READ_MEM, "12345678x", 9);
    req(JIT_CMD_CALL, "1234567", 7);
    req(JIT_CMD_CALL, "123456789abc", 12);
    req(JIT_CMD_AUTH_RESPONSE, "x", 1);
    frame(JIT_CMD_PING, JIT_FLAG_OK, "echo", 4);
    finish("bad_frames");

    begin(OPT_PAYLOAD(0) | FUZZ_OPT_CLOCK_WRAP);
    uint8_t big[100];
    memset(big, 0xa5, sizeof big);
    req(JIT_CMD_PING, big, sizeof big); /* above max_payload 64: drained */
    static const uint8_t half[] = {0xa5, 0x5a, 0x01, 0x00, 0x04, 0x00};
    raw(half, sizeof half, 0);
    raw("\xa5\x5a\x01\x00\x00\x00\x00\x00\x00\x01", 10, 2); /* after a stall and a tick */
    raw(half, sizeof half, 0);
    raw("\xa5\x5a\x01\x00\x00\x00\x00\x00\x00\x01", 10, 3); /* after a stall, no tick */
    static const uint8_t oversized[] = {0xa5, 0x5a, 0x20, 0x00, 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
    raw(oversized, sizeof oversized, 1);
    raw("\xa5\x5a\x01\x00\x00\x00\x00\x00\x00\x01", 10, 2);
    finish("stalls");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    s_dir = argv[1];
    if (mkdir(s_dir, 0755) != 0 && errno != EEXIST) {
        perror(s_dir);
        return 1;
    }
    memory_seeds();
    exec_seeds();
    seal_seeds();
    auth_seeds();
    parser_seeds();
    pc_port_fini();
    printf("gen_corpus: %u seeds in %s\n", s_written, s_dir);
    return 0;
}

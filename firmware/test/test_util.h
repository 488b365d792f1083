/*
 * A tiny test framework for the host build of the P4-JIT core: checks that report
 * file:line and the values seen, one line per failure, and a fixture that sets up the core on
 * the host port with frame helpers around it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pc_port.h"
#include "jit_core.h"
#include "jit_protocol.h"

/* ---- checks ---- */

bool t_check(bool ok, const char *expr, const char *file, int line);
bool t_check_eq(uint64_t got, uint64_t want, const char *expr, const char *file, int line);
bool t_check_mem(const void *got, const void *want, size_t n, const char *expr, const char *file, int line);

#define CHECK(cond) t_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(got, want) t_check_eq((uint64_t)(got), (uint64_t)(want), #got " == " #want, __FILE__, __LINE__)
#define CHECK_MEM(got, want, n) t_check_mem((got), (want), (n), #got " == " #want, __FILE__, __LINE__)

typedef void (*test_fn_t)(void);
typedef struct {
    const char *name;
    test_fn_t fn;
} test_case_t;

/** Runs the cases, prints one line per failed check and the summary line; returns the exit code. */
int t_run_all(const test_case_t *const *groups, const size_t *counts, size_t ngroups);

/* ---- fixture ---- */

typedef struct {
    uint32_t max_payload;
    uint32_t max_allocs;
    uint32_t max_alloc_bytes;
    uint32_t default_call_ms;
    uint32_t max_call_ms;
    uint32_t interbyte_timeout_ms;
    uint32_t guard_size; /* 0: no guards */
    const char *secret;  /* NULL: authentication off */
    pc_port_config_t port;
} fx_options_t;

extern jit_core_t g_core;

fx_options_t fx_defaults(void);
/** Fresh host port and core (NULL: defaults). Every test starts with one. */
void fx_setup(const fx_options_t *opts);

/* ---- frames ---- */

void put32(uint8_t *p, uint32_t v);
uint32_t get32(const uint8_t *p);
uint64_t get64(const uint8_t *p);

/** Encodes a frame into out (room for 10 + len bytes); returns its length. */
size_t frame_encode(uint8_t *out, uint8_t cmd, uint8_t flags, const void *payload, uint32_t len);

typedef struct {
    uint8_t cmd, flags;
    uint32_t len;
    const uint8_t *payload; /* points into the capture buffer: valid until the next request */
} reply_t;

/**
 * Splits everything captured into frames. A malformed frame (magic, flags, checksum, a tail cut
 * short) fails a check. Returns the number found, at most max.
 */
size_t captured_frames(reply_t *out, size_t max);

/** Feeds raw bytes in one call. */
void feed(const void *bytes, size_t len);
/** Clears the capture and sends one request; the replies stay captured. */
void send_request(uint8_t cmd, const void *payload, uint32_t len);
/** The one frame captured since the last clear (a check fails, and flags are 0xff, when not exactly one). */
reply_t single_reply(void);
/** Clears the capture, feeds a malloc'ed frame of n bytes (freed here) and returns its single reply. */
reply_t feed_for_reply(uint8_t *frame, size_t n);
/** Clears the capture, sends one request and returns its single reply (OUTPUT frames not allowed). */
reply_t request(uint8_t cmd, const void *payload, uint32_t len);
/** Error code of an error reply (a check fails when it is not one). */
uint32_t err_of(reply_t r);
/** A reply that is a status word: 0 for an OK reply (checking the status is 0), else its error code. */
uint32_t status_of(reply_t r, uint8_t cmd);
/** True when r is an OK reply of cmd carrying len bytes (checks it). */
bool is_ok(reply_t r, uint8_t cmd, uint32_t len);
/** True when nothing was captured since the last clear; clears the capture. */
bool nothing_sent(void);

/* ---- commands ---- */

/** ALLOC that must succeed; returns the address. */
uint32_t alloc_ok(uint32_t size, uint32_t caps, uint32_t align);
/** ALLOC that must fail; returns its error field (and checks the reply is the seed's flags 01 form). */
uint32_t alloc_fail(uint32_t size, uint32_t caps, uint32_t align);
/** FREE: the reply's error code, or 0 for an OK reply. */
uint32_t free_addr(uint32_t addr);
/** WRITE_MEM that must succeed. */
void write_ok(uint32_t addr, const void *data, uint32_t n);
/** HEAP_INFO words. */
void heap_info(uint32_t w[4]);

/* ---- code for the host port's interpreter (test_exec.c) ---- */

typedef struct {
    uint8_t b[512];
    uint32_t n;
} code_t;

/** Appends one instruction word or operand. */
void op(code_t *c, uint32_t word);
/** Allocates with caps (32 spare bytes), uploads the code, returns its address. */
uint32_t load(const code_t *c, uint32_t caps);
reply_t exec_at(uint32_t addr);
reply_t call_at(uint32_t entry, uint32_t limit_ms, const uint64_t *slots, uint32_t nslots);

/** FEATURES: asks for extended replies (JIT_FEATURE_*), checks the device granted them. */
void opt_in(uint32_t features);

/* ---- authentication (test_auth.c) ---- */

/** Fresh core with the tests' secret. */
void setup_auth(void);
/** HMAC-SHA256 of a nonce with the tests' secret. */
void mac_of(const uint8_t nonce[32], uint8_t mac[32]);
/** A challenge-response with the right secret (checks); mac gets the answer that was sent. */
bool authenticate(uint8_t mac[32]);
/** A request in a SESSION frame under the core's session key (test_session.c); the inner reply. */
reply_t session_request(uint8_t cmd, const void *payload, uint32_t len);

/*
 * Authentication: AUTH_CHALLENGE hands out a fresh 32-byte nonce; AUTH_RESPONSE must carry
 * HMAC-SHA256(secret, nonce). A nonce is good for one attempt. After JIT_AUTH_FREE_TRIES failures
 * every further attempt is refused for a delay that doubles, up to JIT_AUTH_MAX_DELAY_MS.
 * SHA-256 is implemented here (FIPS 180-4) because the core must build bare-metal with no library.
 */
#include <string.h>

#include "jit_auth.h"
#include "jit_protocol.h"

#define JIT_AUTH_FREE_TRIES 3u
#define JIT_AUTH_BASE_DELAY_MS 1000u
#define JIT_AUTH_MAX_DELAY_MS 30000u

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(jit_sha256_ctx_t *c, const uint8_t *p)
{
    uint32_t w[64], a, b, d, e, f, g, h, cc;
    for (int i = 0; i < 16; i++) {
        w[i] =
            ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) | ((uint32_t)p[4 * i + 2] << 8) | p[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    /* SHA-256 state moves, as FIPS 180-4 writes them */
    /* clang-format off */
    a = c->h[0]; b = c->h[1]; cc = c->h[2]; d = c->h[3];
    e = c->h[4]; f = c->h[5]; g = c->h[6]; h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g; g = f; f = e; e = d + t1; d = cc; cc = b; b = a; a = t1 + t2;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d;
    c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
    /* clang-format on */
}

static void sha256_init(jit_sha256_ctx_t *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->bytes = 0;
    c->used = 0;
}

static void sha256_update(jit_sha256_ctx_t *c, const uint8_t *p, size_t n)
{
    c->bytes += n;
    while (n > 0) {
        uint32_t take = 64 - c->used;
        if (take > n) {
            take = (uint32_t)n;
        }
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        n -= take;
        if (c->used == 64) {
            sha256_block(c, c->block);
            c->used = 0;
        }
    }
}

static void sha256_final(jit_sha256_ctx_t *c, uint8_t out[32])
{
    uint64_t bits = c->bytes * 8;
    uint8_t pad = 0x80, zero = 0, len[8];
    sha256_update(c, &pad, 1);
    while (c->used != 56) {
        sha256_update(c, &zero, 1);
    }
    for (int i = 0; i < 8; i++) {
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    sha256_update(c, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void jit_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    jit_sha256_ctx_t c;
    sha256_init(&c);
    sha256_update(&c, data, len);
    sha256_final(&c, out);
}

void jit_hmac_begin(jit_hmac_t *h, const uint8_t *key, size_t key_len)
{
    uint8_t pad[64];
    memset(h->key, 0, sizeof h->key);
    if (key_len > 64) {
        jit_sha256(key, key_len, h->key);
    } else {
        memcpy(h->key, key, key_len);
    }
    for (int i = 0; i < 64; i++) {
        pad[i] = h->key[i] ^ 0x36;
    }
    sha256_init(&h->inner);
    sha256_update(&h->inner, pad, 64);
}

void jit_hmac_update(jit_hmac_t *h, const void *data, size_t len)
{
    sha256_update(&h->inner, data, len);
}

void jit_hmac_end(jit_hmac_t *h, uint8_t out[32])
{
    uint8_t pad[64], inner[32];
    jit_sha256_ctx_t c;
    sha256_final(&h->inner, inner);
    for (int i = 0; i < 64; i++) {
        pad[i] = h->key[i] ^ 0x5c;
    }
    sha256_init(&c);
    sha256_update(&c, pad, 64);
    sha256_update(&c, inner, 32);
    sha256_final(&c, out);
}

void jit_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len, uint8_t out[32])
{
    jit_hmac_t h;
    jit_hmac_begin(&h, key, key_len);
    jit_hmac_update(&h, msg, msg_len);
    jit_hmac_end(&h, out);
}

static void reply_status(uint8_t cmd, uint32_t status)
{
    if (status != JIT_ERR_OK) {
        jit_reply_error(cmd, status, NULL, 0);
        return;
    }
    jit_reply_begin(cmd, JIT_FLAG_OK, 4);
    jit_reply_data(&status, 4);
    jit_reply_end();
}

/* Durations, not deadlines, so the answer stays right however long the device has been up. */
static bool rate_limited(jit_core_t *core)
{
    if (core->auth_block_ms == 0) {
        return false;
    }
    if ((uint32_t)(jit_port_millis() - core->auth_block_start_ms) < core->auth_block_ms) {
        return true;
    }
    core->auth_block_ms = 0; /* over: forgotten, so a wrap of the clock cannot bring it back */
    return false;
}

void jit_auth_challenge(jit_core_t *core)
{
    if (rate_limited(core)) {
        jit_reply_error(JIT_CMD_AUTH_CHALLENGE, JIT_ERR_RATE_LIMITED, NULL, 0);
        return;
    }
    jit_port_random(core->nonce, sizeof core->nonce);
    core->nonce_valid = true;
    jit_reply_begin(JIT_CMD_AUTH_CHALLENGE, JIT_FLAG_OK, sizeof core->nonce);
    jit_reply_data(core->nonce, sizeof core->nonce);
    jit_reply_end();
}

/* session key = HMAC-SHA256(secret, "p4jit-session" || device nonce || host nonce) */
static void derive_session_key(jit_core_t *core, const uint8_t *host_nonce, size_t host_nonce_len)
{
    static const char label[] = "p4jit-session";
    jit_hmac_t h;
    jit_hmac_begin(&h, core->cfg.auth_secret, core->cfg.auth_secret_len);
    jit_hmac_update(&h, label, sizeof label - 1);
    jit_hmac_update(&h, core->nonce, sizeof core->nonce);
    jit_hmac_update(&h, host_nonce, host_nonce_len);
    jit_hmac_end(&h, core->session_key);
    core->session = true;
    core->session_counter = 0;
}

void jit_auth_response(jit_core_t *core, const uint8_t *mac, uint32_t len)
{
    uint8_t want[32];
    uint8_t diff = 0;
    if (core->cfg.auth_secret == NULL) {
        reply_status(JIT_CMD_AUTH_RESPONSE, JIT_ERR_OK); /* nothing to prove */
        return;
    }
    if (rate_limited(core)) {
        reply_status(JIT_CMD_AUTH_RESPONSE, JIT_ERR_RATE_LIMITED);
        return;
    }
    if (core->nonce_valid) {
        jit_hmac_sha256(core->cfg.auth_secret, core->cfg.auth_secret_len, core->nonce, sizeof core->nonce, want);
        for (int i = 0; i < 32; i++) {
            diff |= (uint8_t)(want[i] ^ mac[i]); /* constant time */
        }
    }
    bool ok = core->nonce_valid && diff == 0;
    core->nonce_valid = false; /* one attempt per nonce */
    if (!ok) {
        core->auth_failures++;
        if (core->auth_failures >= JIT_AUTH_FREE_TRIES) {
            uint32_t shift = core->auth_failures - JIT_AUTH_FREE_TRIES;
            uint32_t delay = JIT_AUTH_MAX_DELAY_MS;
            if (shift < 16 && (JIT_AUTH_BASE_DELAY_MS << shift) < delay) {
                delay = JIT_AUTH_BASE_DELAY_MS << shift;
            }
            core->auth_block_start_ms = jit_port_millis();
            core->auth_block_ms = delay;
        }
        reply_status(JIT_CMD_AUTH_RESPONSE, JIT_ERR_AUTH_FAILED);
        return;
    }
    core->auth_failures = 0;
    core->authenticated = true;
    derive_session_key(core, mac + 32, len - 32);
    reply_status(JIT_CMD_AUTH_RESPONSE, JIT_ERR_OK);
}

void jit_auth_forget(jit_core_t *core)
{
    core->authenticated = (core->cfg.auth_secret == NULL);
    core->nonce_valid = false;
    core->session = false;
    memset(core->session_key, 0, sizeof core->session_key);
}

void jit_auth_end(jit_core_t *core)
{
    jit_core_end_session(core);
    reply_status(JIT_CMD_AUTH_END, JIT_ERR_OK);
}

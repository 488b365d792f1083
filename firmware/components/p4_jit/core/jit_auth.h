/* Challenge-response authentication of the P4-JIT core (HMAC-SHA256 over a device nonce). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "jit_core.h"

typedef struct {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    uint32_t used;
} jit_sha256_ctx_t;

/** HMAC-SHA256 computed piece by piece (SESSION frames are MACed while they are written). */
typedef struct {
    uint8_t key[64];
    jit_sha256_ctx_t inner;
} jit_hmac_t;

void jit_hmac_begin(jit_hmac_t *h, const uint8_t *key, size_t key_len);
void jit_hmac_update(jit_hmac_t *h, const void *data, size_t len);
void jit_hmac_end(jit_hmac_t *h, uint8_t out[32]);

void jit_sha256(const uint8_t *data, size_t len, uint8_t out[32]);
void jit_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len, uint8_t out[32]);

void jit_auth_challenge(jit_core_t *core);
/** mac (32 bytes), optionally followed by the host's nonce for the session key (len 32 or 48). */
void jit_auth_response(jit_core_t *core, const uint8_t *mac, uint32_t len);
/** Forgets the authentication (AUTH_END, or a change of host); the failure count stays. */
void jit_auth_forget(jit_core_t *core);
void jit_auth_end(jit_core_t *core);

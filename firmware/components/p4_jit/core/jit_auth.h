/* Challenge-response authentication of the P4-JIT core (HMAC-SHA256 over a device nonce). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "jit_core.h"

void jit_sha256(const uint8_t *data, size_t len, uint8_t out[32]);
void jit_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len, uint8_t out[32]);

void jit_auth_challenge(jit_core_t *core);
void jit_auth_response(jit_core_t *core, const uint8_t *mac);
/** Forgets the authentication (AUTH_END, or a change of host); the failure count stays. */
void jit_auth_forget(jit_core_t *core);
void jit_auth_end(jit_core_t *core);

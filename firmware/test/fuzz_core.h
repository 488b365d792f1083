/*
 * Input format of the P4-JIT core fuzzer (fuzz_core.c), shared with the seed generator.
 *
 *   byte 0     options (FUZZ_OPT_*)
 *   then       segments: a header byte h, then (h & 63) + 1 bytes fed to the core in one call
 *              (fewer when the input ends). Before the segment the fake clock moves by
 *              h >> 6: 0 nothing, 1 one ms, 2 the inter-byte timeout followed by a tick,
 *              3 the inter-byte timeout without a tick.
 *
 * The port is reset for every input, so addresses and authentication nonces repeat: a seed can
 * carry a correct HMAC answer and the addresses its ALLOCs will get.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "jit_core.h"

#define FUZZ_OPT_AUTH 0x01u       /* authentication on, secret FUZZ_SECRET */
#define FUZZ_OPT_PAYLOAD_SHIFT 1  /* bits 1-2 choose max_payload from fuzz_max_payload */
#define FUZZ_OPT_FEW_ALLOCS 0x08u /* a table of 3 entries instead of 16 */
#define FUZZ_OPT_BYTE_LIMIT 0x10u /* max_alloc_bytes 2048 */
#define FUZZ_OPT_CLOCK_WRAP 0x20u /* the clock starts 300 ms before it wraps */
#define FUZZ_OPT_FIX_SEALS \
    0x40u /* SEALED requests get their CRC-32 and sum made right before
                                        they are fed, so mutations reach the inner commands */

#define FUZZ_SECRET "fuzz secret"
#define FUZZ_INTERBYTE_MS 500u
#define FUZZ_SEGMENT_MAX 64u
#define FUZZ_ADVANCE_SHIFT 6

static const uint32_t fuzz_max_payload[4] = {64, 300, 1024, 4096};

/** Resets the host port and the core for the options byte. */
void fuzz_setup(uint8_t options);
/** Applies one segment: the clock step of its header, then the feed. */
void fuzz_segment(uint8_t header, const uint8_t *bytes, size_t n);
jit_core_t *fuzz_core(void);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

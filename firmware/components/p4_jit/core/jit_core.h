/*
 * The portable P4-JIT protocol core: frame parser, command dispatcher and the shadow allocation
 * table. It owns no thread and no transport: a port feeds it received bytes and ticks it while the
 * link is idle; replies leave through jit_port_write().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit_port.h"
#include "jit_protocol.h"

typedef struct {
    uint32_t addr; /**< what the host sees: the first byte it may use */
    uint32_t size; /**< bytes it may use */
    uint32_t caps;
    uint32_t lead; /**< guard bytes before addr; the port's block starts at addr - lead */
} jit_alloc_entry_t;

typedef struct {
    uint8_t *rx_buffer;            /**< holds one request payload */
    uint32_t max_payload;          /**< size of rx_buffer */
    jit_alloc_entry_t *table;      /**< shadow allocation table storage */
    uint32_t max_allocs;           /**< entries in table */
    uint32_t max_alloc_bytes;      /**< total bytes limit, 0 = none */
    uint32_t default_call_ms;      /**< time limit when a request gives 0 */
    uint32_t max_call_ms;          /**< largest time limit a request may ask */
    uint32_t interbyte_timeout_ms; /**< a frame stalled this long is abandoned; 0 = never */
    uint32_t guard_size;           /**< guard bytes on each side of every allocation; 0 = none */
    const uint8_t *auth_secret;    /**< NULL: authentication off */
    size_t auth_secret_len;
} jit_core_config_t;

/** How the last EXEC or CALL that did not return ended (LAST_FAULT). */
typedef struct {
    uint32_t code;  /**< JIT_ERR_FAULT, JIT_ERR_TIMEOUT or JIT_ERR_OVERRUN; 0 while none failed */
    uint32_t entry; /**< the address that was called */
    uint32_t mcause, mepc, mtval;
    uint32_t overrun[JIT_OVERRUN_WORDS]; /**< the overrun record, zero when the guards held */
} jit_call_failure_t;

typedef enum {
    JIT_PARSE_MAGIC0,
    JIT_PARSE_MAGIC1,
    JIT_PARSE_HEADER,
    JIT_PARSE_PAYLOAD,
    JIT_PARSE_CHECKSUM,
    JIT_PARSE_DRAIN, /* oversized payload: count it away */
} jit_parse_state_t;

typedef struct {
    jit_core_config_t cfg;
    /* parser */
    jit_parse_state_t state;
    uint8_t header[8];
    uint32_t got;     /* bytes of the current field received */
    uint32_t length;  /* announced payload length */
    uint64_t drained; /* bytes counted away in JIT_PARSE_DRAIN */
    uint16_t sum;     /* running checksum */
    uint8_t rx_sum[2];
    uint32_t last_byte_ms;
    /* allocation table */
    uint32_t alloc_count;
    uint32_t alloc_bytes;
    uint32_t boot_id; /* random per jit_core_init: a new value tells a host every allocation is gone */
    /* authentication */
    bool authenticated;
    uint8_t nonce[32];
    bool nonce_valid;
    uint32_t auth_failures;       /* failed attempts since the last success */
    uint32_t auth_block_start_ms; /* when the current refusal period began */
    uint32_t auth_block_ms;       /* its length, 0 = none */
    /* the authenticated session: every protected request must come in a SESSION frame MACed
       with this key and a counter above the last one */
    bool session;
    bool in_session; /* a SESSION frame's inner request is being served */
    uint8_t session_key[32];
    uint32_t session_counter;
    /* the current host's session: extended replies it asked for (JIT_FEATURE_*) */
    uint32_t features;
    jit_call_failure_t last_failure;
    /* statistics */
    uint32_t frames_ok;
    uint32_t frames_bad;
    uint32_t host_changes;
} jit_core_t;

void jit_core_init(jit_core_t *core, const jit_core_config_t *cfg);
/** Feed received bytes; complete frames are dispatched and answered at once. */
void jit_core_feed(jit_core_t *core, const uint8_t *data, size_t len);
/** Call while no byte arrives (at least every interbyte_timeout_ms / 2): ends a stalled frame. */
void jit_core_tick(jit_core_t *core);
/** Bytes printed by JIT code: sent as OUTPUT frames. Safe to call only while a call runs. */
void jit_core_output(const uint8_t *data, size_t len);
/**
 * The port saw a host open or close the link (USB DTR change, virtio port open): drops the
 * authentication, the extended replies it asked for and any half-received frame, so a new host
 * starts from scratch (and a seed host sees the seed's frames only).
 */
void jit_core_host_changed(jit_core_t *core);
/** The host is done (AUTH_END) or gone: authentication and FEATURES are forgotten. */
void jit_core_end_session(jit_core_t *core);
/** Frees every live allocation (used by stop). */
void jit_core_release_all(jit_core_t *core);

/* internal, shared between the core's files */
void jit_core_dispatch(jit_core_t *core, uint8_t cmd, const uint8_t *payload, uint32_t len);
/** Seal every frame sent from now on (SEALED request being served) with seq, or stop sealing. */
void jit_reply_seal(bool on, uint8_t seq);
/** MAC every frame sent from now on (SESSION request being served) with key, seq and counter. */
void jit_reply_session(const uint8_t key[32], uint8_t seq, uint32_t counter);
void jit_reply_begin(uint8_t cmd, uint8_t flags, uint32_t len);
void jit_reply_data(const void *data, uint32_t len);
void jit_reply_end(void);
void jit_reply_error(uint8_t cmd, uint32_t code, const uint32_t *detail, uint32_t ndetail);

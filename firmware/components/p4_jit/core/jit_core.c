/*
 * Frame parser and reply writer of the P4-JIT protocol core (see docs/protocol.md).
 * Byte-fed state machine: it never blocks, resynchronises on the next magic (also inside
 * "A5 A5 5A"), drains oversized payloads and abandons frames that stall.
 */
#include <string.h>

#include "jit_auth.h"
#include "jit_core.h"
#include "jit_crc32.h"
#include "jit_protocol.h"

/* The reply being written. While a SEALED request is served, every frame the device sends
   (its reply, OUTPUT of the call) is sealed with the request's sequence byte. */
static struct {
    uint16_t sum;
    bool sealed;
    uint8_t seq;
    uint32_t crc;
    bool session; /* SESSION: a MAC instead of the CRC, and the request's counter */
    uint32_t counter;
    uint8_t key[32];
    jit_hmac_t mac;
} s_tx;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* a word that may alias bytes of any type (GCC and Clang) */
typedef uint32_t __attribute__((may_alias)) jit_word_t;

/* The byte sum, four bytes per load where the data is aligned: it runs over every byte of an
   upload. Two 16-bit lanes each collect one byte of every half-word; 128 words cannot overflow. */
static uint16_t sum_bytes(uint16_t sum, const uint8_t *p, size_t n)
{
    uint32_t s = sum;
    while (n > 0 && ((uintptr_t)p & 3u) != 0) {
        s += *p++;
        n--;
    }
    const jit_word_t *w = (const jit_word_t *)(const void *)p;
    while (n >= 4) {
        size_t words = n / 4 < 128 ? n / 4 : 128;
        uint32_t lanes = 0;
        for (size_t i = 0; i < words; i++) {
            lanes += (w[i] & 0x00ff00ffu) + ((w[i] >> 8) & 0x00ff00ffu);
        }
        s += (lanes & 0xffffu) + (lanes >> 16);
        w += words;
        n -= 4 * words;
    }
    p = (const uint8_t *)w;
    while (n-- > 0) {
        s += *p++;
    }
    return (uint16_t)s;
}

void jit_reply_seal(bool on, uint8_t seq)
{
    s_tx.sealed = on;
    s_tx.seq = seq;
    s_tx.session = false;
}

void jit_reply_session(const uint8_t key[32], uint8_t seq, uint32_t counter)
{
    /* a copy: a request that ends the session (AUTH_END) is still answered under its key */
    memcpy(s_tx.key, key, sizeof s_tx.key);
    s_tx.sealed = true;
    s_tx.session = true;
    s_tx.seq = seq;
    s_tx.counter = counter;
}

static void session_begin(uint8_t cmd, uint8_t flags, uint32_t len)
{
    uint32_t outer = len + JIT_SESSION_OVERHEAD;
    uint32_t c = s_tx.counter;
    /* the frame header on one line, the session header on the next */
    /* clang-format off */
    uint8_t h[JIT_HEADER_SIZE + JIT_SESSION_HEADER_SIZE] = {
        JIT_MAGIC0, JIT_MAGIC1, JIT_CMD_SESSION, flags,
        (uint8_t)outer, (uint8_t)(outer >> 8), (uint8_t)(outer >> 16), (uint8_t)(outer >> 24),
        cmd, s_tx.seq, 0, 0, (uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24)};
    /* clang-format on */
    s_tx.sum = sum_bytes(0, h, sizeof h);
    jit_hmac_begin(&s_tx.mac, s_tx.key, sizeof s_tx.key);
    jit_hmac_update(&s_tx.mac, h, sizeof h);
    jit_port_write(h, sizeof h);
}

void jit_reply_begin(uint8_t cmd, uint8_t flags, uint32_t len)
{
    if (s_tx.session) {
        session_begin(cmd, flags, len);
        return;
    }
    if (!s_tx.sealed) {
        /* magic, command, flags, then the length */
        /* clang-format off */
        uint8_t h[JIT_HEADER_SIZE] = {JIT_MAGIC0, JIT_MAGIC1, cmd, flags,
                                      (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
        /* clang-format on */
        s_tx.sum = sum_bytes(0, h, sizeof h);
        jit_port_write(h, sizeof h);
        return;
    }
    uint32_t outer = len + JIT_SEAL_OVERHEAD;
    /* the frame header on one line, the seal header on the next */
    /* clang-format off */
    uint8_t h[JIT_HEADER_SIZE + JIT_SEAL_HEADER_SIZE] = {
        JIT_MAGIC0, JIT_MAGIC1, JIT_CMD_SEALED, flags,
        (uint8_t)outer, (uint8_t)(outer >> 8), (uint8_t)(outer >> 16), (uint8_t)(outer >> 24),
        cmd, s_tx.seq, 0, 0};
    /* clang-format on */
    s_tx.sum = sum_bytes(0, h, sizeof h);
    s_tx.crc = jit_crc32(0, h, sizeof h);
    jit_port_write(h, sizeof h);
}

void jit_reply_data(const void *data, uint32_t len)
{
    s_tx.sum = sum_bytes(s_tx.sum, data, len);
    if (s_tx.session) {
        jit_hmac_update(&s_tx.mac, data, len);
    } else if (s_tx.sealed) {
        s_tx.crc = jit_crc32(s_tx.crc, data, len);
    }
    jit_port_write(data, len);
}

void jit_reply_end(void)
{
    if (s_tx.session) {
        uint8_t tag[32];
        jit_hmac_end(&s_tx.mac, tag);
        s_tx.sum = sum_bytes(s_tx.sum, tag, JIT_SESSION_TAG_SIZE);
        jit_port_write(tag, JIT_SESSION_TAG_SIZE);
    } else if (s_tx.sealed) {
        uint8_t c[4] = {(uint8_t)s_tx.crc, (uint8_t)(s_tx.crc >> 8), (uint8_t)(s_tx.crc >> 16),
                        (uint8_t)(s_tx.crc >> 24)};
        s_tx.sum = sum_bytes(s_tx.sum, c, sizeof c);
        jit_port_write(c, sizeof c);
    }
    uint8_t c[2] = {(uint8_t)s_tx.sum, (uint8_t)(s_tx.sum >> 8)};
    jit_port_write(c, sizeof c);
}

void jit_reply_error(uint8_t cmd, uint32_t code, const uint32_t *detail, uint32_t ndetail)
{
    jit_reply_begin(cmd, JIT_FLAG_ERROR, 4 + 4 * ndetail);
    jit_reply_data(&code, 4); /* the core runs on little-endian RISC-V and x86 hosts only */
    for (uint32_t i = 0; i < ndetail; i++) {
        jit_reply_data(&detail[i], 4);
    }
    jit_reply_end();
}

void jit_core_output(const uint8_t *data, size_t len)
{
    jit_reply_begin(JIT_CMD_OUTPUT, JIT_FLAG_OK, (uint32_t)len);
    jit_reply_data(data, (uint32_t)len);
    jit_reply_end();
}

void jit_core_init(jit_core_t *core, const jit_core_config_t *cfg)
{
    memset(core, 0, sizeof *core);
    core->cfg = *cfg;
    core->state = JIT_PARSE_MAGIC0;
    core->authenticated = (cfg->auth_secret == NULL);
    jit_reply_seal(false, 0);
    (void)jit_crc32(0, NULL, 0); /* builds the CRC table now, before any call could need it */
    if (cfg->max_allocs != 0) {
        memset(cfg->table, 0, sizeof(jit_alloc_entry_t) * cfg->max_allocs);
    }
    do { /* 0 would read as "no boot id" */
        jit_port_random((uint8_t *)&core->boot_id, sizeof core->boot_id);
    } while (core->boot_id == 0);
}

/* A frame whose flags are not 00 is never answered, not even a bad or oversized one: a host's
 * own frames coming back (a pty left in echo mode) must not start an endless exchange. */
static bool is_request(const jit_core_t *core)
{
    return core->header[3] == JIT_FLAG_REQUEST;
}

static void frame_done(jit_core_t *core)
{
    uint8_t cmd = core->header[2];
    uint16_t want = (uint16_t)(core->rx_sum[0] | (core->rx_sum[1] << 8));
    core->state = JIT_PARSE_MAGIC0;
    if (want != core->sum) {
        core->frames_bad++;
        if (is_request(core)) {
            jit_reply_error(cmd, JIT_ERR_CHECKSUM, NULL, 0);
        }
        return;
    }
    if (!is_request(core)) {
        return;
    }
    core->frames_ok++;
    jit_core_dispatch(core, cmd, core->cfg.rx_buffer, core->length);
    /* the inter-byte clock restarts: the time a call ran is not a stall of the host */
    core->last_byte_ms = jit_port_millis();
}

static void drain_done(jit_core_t *core)
{
    core->state = JIT_PARSE_MAGIC0;
    core->frames_bad++;
    if (is_request(core)) {
        jit_reply_error(core->header[2], JIT_ERR_PAYLOAD_TOO_LARGE, NULL, 0);
    }
}

/* Ends a frame that has stalled for the inter-byte timeout: an oversized one is answered, any
 * other is abandoned silently (the host's own timeout covers it). */
static void expire_stalled_frame(jit_core_t *core, uint32_t now)
{
    if (core->state == JIT_PARSE_MAGIC0 || core->cfg.interbyte_timeout_ms == 0 ||
        (uint32_t)(now - core->last_byte_ms) < core->cfg.interbyte_timeout_ms) {
        return;
    }
    if (core->state == JIT_PARSE_DRAIN) {
        drain_done(core); /* the announced payload never came in full: answer and move on */
        return;
    }
    core->frames_bad++;
    core->state = JIT_PARSE_MAGIC0;
}

void jit_core_feed(jit_core_t *core, const uint8_t *data, size_t len)
{
    size_t i = 0;
    uint32_t now = jit_port_millis();
    /* checked here as well as in tick, so a port that feeds without ticking still resynchronises */
    expire_stalled_frame(core, now);
    core->last_byte_ms = now;
    while (i < len) {
        uint8_t b = data[i];
        switch (core->state) {
        case JIT_PARSE_MAGIC0:
            i++;
            if (b == JIT_MAGIC0) {
                core->state = JIT_PARSE_MAGIC1;
            }
            break;
        case JIT_PARSE_MAGIC1:
            i++;
            if (b == JIT_MAGIC1) {
                core->header[0] = JIT_MAGIC0;
                core->header[1] = JIT_MAGIC1;
                core->got = 2;
                core->state = JIT_PARSE_HEADER;
            } else if (b != JIT_MAGIC0) {
                core->state = JIT_PARSE_MAGIC0; /* A5 A5 5A: stay, the second A5 may start it */
            }
            break;
        case JIT_PARSE_HEADER:
            i++;
            core->header[core->got++] = b;
            if (core->got == JIT_HEADER_SIZE) {
                core->length = rd32(&core->header[4]);
                core->sum = sum_bytes(0, core->header, JIT_HEADER_SIZE);
                core->got = 0;
                if (core->length > core->cfg.max_payload) {
                    core->drained = 0;
                    core->state = JIT_PARSE_DRAIN;
                } else {
                    core->state = core->length ? JIT_PARSE_PAYLOAD : JIT_PARSE_CHECKSUM;
                }
            }
            break;
        case JIT_PARSE_PAYLOAD: {
            /* bulk copy: this is the hot path of a large upload */
            size_t n = len - i;
            if (n > core->length - core->got) {
                n = core->length - core->got;
            }
            memcpy(core->cfg.rx_buffer + core->got, &data[i], n);
            core->sum = sum_bytes(core->sum, &data[i], n);
            core->got += (uint32_t)n;
            i += n;
            if (core->got == core->length) {
                core->got = 0;
                core->state = JIT_PARSE_CHECKSUM;
            }
            break;
        }
        case JIT_PARSE_CHECKSUM:
            i++;
            core->rx_sum[core->got++] = b;
            if (core->got == JIT_CHECKSUM_SIZE) {
                frame_done(core);
            }
            break;
        case JIT_PARSE_DRAIN: {
            /* payload plus its checksum */
            uint64_t left = (uint64_t)core->length + JIT_CHECKSUM_SIZE - core->drained;
            size_t n = len - i;
            if (n > left) {
                n = (size_t)left;
            }
            core->drained += n;
            i += n;
            if (n == left) {
                drain_done(core);
            }
            break;
        }
        }
    }
}

void jit_core_host_changed(jit_core_t *core)
{
    /* a frame the last host left half sent is not the new host's */
    core->state = JIT_PARSE_MAGIC0;
    core->got = 0;
    jit_core_end_session(core);
    core->host_changes++;
}

void jit_core_end_session(jit_core_t *core)
{
    /* authentication belongs to the host that made it; the failure count stays, so that
       reopening the port does not lift a rate limit */
    jit_auth_forget(core);
    core->features = 0; /* the next host may know only the seed */
}

void jit_core_tick(jit_core_t *core)
{
    expire_stalled_frame(core, jit_port_millis());
}

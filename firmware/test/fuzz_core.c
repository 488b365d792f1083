/*
 * libFuzzer target: the input (format in fuzz_core.h) is fed to the P4-JIT core on the host port
 * in pieces, with the fake clock moving between them. Besides the sanitizers, it aborts when an
 * invariant breaks:
 *  - every byte the device wrote is a well-formed frame with a correct checksum, and a sealed
 *    one carries a correct CRC-32; its inner reply is checked as a plain one would be
 *    (FUZZ_OPT_FIX_SEALS makes mutated sealed requests reach the inner commands);
 *  - each reply has the layout of its command, and an error code that command can give;
 *  - no reply to a protected command succeeds before authentication did;
 *  - OUTPUT frames come only right before an EXEC/CALL reply, and only after the host asked for
 *    them (FEATURES); FAULT and TIMEOUT carry detail words only then too (else one code);
 *  - never more replies than frame starts fed;
 *  - the allocation table matches the heap's live blocks, the heap's blocks are consistent, and
 *    freeing everything gives back exactly the starting free figures.
 */
#include "fuzz_core.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_port.h"
#include "jit_crc32.h"
#include "jit_protocol.h"

#define INVARIANT(cond)                                                                              \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            fprintf(stderr, "fuzz_core: invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                                 \
        }                                                                                            \
    } while (0)

#define MAX_ALLOCS 16u
#define FEW_ALLOCS 3u

static jit_core_t s_core;
static uint8_t *s_rx[4];
static jit_alloc_entry_t *s_table;
static uint8_t s_options;
static uint32_t s_initial_free[2];

jit_core_t *fuzz_core(void)
{
    return &s_core;
}

void fuzz_setup(uint8_t options)
{
    s_options = options;
    unsigned pick = (options >> FUZZ_OPT_PAYLOAD_SHIFT) & 3u;
    if (s_rx[pick] == NULL) { /* exact sizes: AddressSanitizer sees any overrun */
        s_rx[pick] = malloc(fuzz_max_payload[pick]);
    }
    if (s_table == NULL) {
        s_table = malloc(sizeof *s_table * MAX_ALLOCS);
    }
    pc_port_config_t port = {
        .psram_base = PC_PSRAM_BASE,
        .psram_size = 16u * 1024u,
        .internal_base = PC_INTERNAL_BASE,
        .internal_size = 8u * 1024u,
        .start_ms = options & FUZZ_OPT_CLOCK_WRAP ? 0xffffffffu - 300u : 5000u,
    };
    pc_port_init(&port);
    jit_core_config_t cfg = {
        .rx_buffer = s_rx[pick],
        .max_payload = fuzz_max_payload[pick],
        .table = s_table,
        .max_allocs = options & FUZZ_OPT_FEW_ALLOCS ? FEW_ALLOCS : MAX_ALLOCS,
        .max_alloc_bytes = options & FUZZ_OPT_BYTE_LIMIT ? 2048u : 0u,
        .default_call_ms = 100,
        .max_call_ms = 1000,
        .interbyte_timeout_ms = FUZZ_INTERBYTE_MS,
        .guard_size = 32,
        .auth_secret = options & FUZZ_OPT_AUTH ? (const uint8_t *)FUZZ_SECRET : NULL,
        .auth_secret_len = options & FUZZ_OPT_AUTH ? strlen(FUZZ_SECRET) : 0,
    };
    jit_core_init(&s_core, &cfg);
    for (int i = 0; i < 2; i++) {
        s_initial_free[i] = pc_port_region(i)->free_bytes;
    }
}

void fuzz_segment(uint8_t header, const uint8_t *bytes, size_t n)
{
    switch (header >> FUZZ_ADVANCE_SHIFT) {
    case 1: pc_port_advance(1); break;
    case 2:
        pc_port_advance(FUZZ_INTERBYTE_MS);
        jit_core_tick(&s_core);
        break;
    case 3: pc_port_advance(FUZZ_INTERBYTE_MS); break;
    default: break;
    }
    jit_core_feed(&s_core, bytes, n);
    jit_core_tick(&s_core);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static bool known_command(uint8_t cmd)
{
    switch (cmd) {
    case JIT_CMD_PING:
    case JIT_CMD_INFO:
    case JIT_CMD_ALLOC:
    case JIT_CMD_FREE:
    case JIT_CMD_WRITE_MEM:
    case JIT_CMD_READ_MEM:
    case JIT_CMD_EXEC:
    case JIT_CMD_CALL:
    case JIT_CMD_HEAP_INFO:
    case JIT_CMD_LIST_ALLOCS:
    case JIT_CMD_AUTH_CHALLENGE:
    case JIT_CMD_AUTH_RESPONSE:
    case JIT_CMD_AUTH_END:
    case JIT_CMD_SEALED:
    case JIT_CMD_SESSION:
    case JIT_CMD_FEATURES:
    case JIT_CMD_LAST_FAULT: return true;
    default: return false;
    }
}

/* Answered whoever asks; during a session AUTH_END only inside it (no one else may end it) */
static bool open_command(uint8_t cmd, bool session)
{
    return cmd == JIT_CMD_PING || cmd == JIT_CMD_INFO || cmd == JIT_CMD_FEATURES || cmd == JIT_CMD_AUTH_CHALLENGE ||
           cmd == JIT_CMD_AUTH_RESPONSE || (cmd == JIT_CMD_AUTH_END && !session) || cmd == JIT_CMD_SEALED ||
           cmd == JIT_CMD_SESSION;
}

static int region_of(uint32_t addr)
{
    for (int i = 0; i < 2; i++) {
        if (jit_heap_owns(pc_port_region(i), addr)) {
            return i;
        }
    }
    return -1;
}

/* An error reply: a code this command can give, with the detail that code carries. */
static void check_error(uint8_t cmd, const uint8_t *p, uint32_t len, bool authenticated, bool session, bool detail)
{
    INVARIANT(len >= 4);
    uint32_t code = rd32(p);
    bool call = cmd == JIT_CMD_EXEC || cmd == JIT_CMD_CALL;
    switch (code) {
    case JIT_ERR_CHECKSUM:
    case JIT_ERR_PAYLOAD_TOO_LARGE: break;
    case JIT_ERR_UNKNOWN_CMD: INVARIANT(!known_command(cmd)); break;
    case JIT_ERR_NOT_AUTHENTICATED:
        /* SESSION itself: no session, or a spent counter (a replay) */
        INVARIANT(cmd == JIT_CMD_SESSION || (!authenticated && !open_command(cmd, session)));
        break;
    case JIT_ERR_BAD_LENGTH: INVARIANT(known_command(cmd) && cmd != JIT_CMD_PING); break;
    case JIT_ERR_NOT_ALLOCATED:
        INVARIANT(cmd == JIT_CMD_FREE || cmd == JIT_CMD_WRITE_MEM || cmd == JIT_CMD_READ_MEM);
        break;
    case JIT_ERR_NOT_EXECUTABLE:
    case JIT_ERR_FAULT:
    case JIT_ERR_TIMEOUT:
    case JIT_ERR_OVERRUN: INVARIANT(call); break;
    case JIT_ERR_BAD_ARGUMENT: INVARIANT(cmd == JIT_CMD_CALL || cmd == JIT_CMD_SEALED || cmd == JIT_CMD_SESSION); break;
    case JIT_ERR_AUTH_FAILED: INVARIANT(cmd == JIT_CMD_AUTH_RESPONSE); break;
    case JIT_ERR_RATE_LIMITED: INVARIANT(cmd == JIT_CMD_AUTH_RESPONSE || cmd == JIT_CMD_AUTH_CHALLENGE); break;
    default: INVARIANT(!"an error code no reply may carry"); break;
    }
    uint32_t want = !detail ? 4u : code == JIT_ERR_FAULT ? 16u : code == JIT_ERR_TIMEOUT ? 8u : 4u;
    uint32_t record = detail ? 4 * JIT_OVERRUN_WORDS : 0; /* after a call that wrote over a guard */
    INVARIANT(len == want || (code == JIT_ERR_OVERRUN && len == 4 + record) ||
              ((code == JIT_ERR_FAULT || code == JIT_ERR_TIMEOUT) && len == want + record));
    if (code != JIT_ERR_CHECKSUM && code != JIT_ERR_PAYLOAD_TOO_LARGE) {
        INVARIANT(code == JIT_ERR_NOT_AUTHENTICATED || authenticated || open_command(cmd, session));
    }
}

/* An OK reply: the layout its command promises. */
static void check_ok(uint8_t cmd, const uint8_t *p, uint32_t len, uint32_t max_payload, bool authenticated,
                     bool session)
{
    INVARIANT((known_command(cmd) && cmd != JIT_CMD_SEALED && cmd != JIT_CMD_SESSION) || cmd == JIT_CMD_OUTPUT);
    INVARIANT(authenticated || open_command(cmd, session) || cmd == JIT_CMD_OUTPUT);
    switch (cmd) {
    case JIT_CMD_PING:
    case JIT_CMD_READ_MEM: INVARIANT(len <= max_payload); break;
    case JIT_CMD_INFO: INVARIANT(len == JIT_INFO_SIZE && rd32(p) == JIT_PROTOCOL_VERSION); break;
    case JIT_CMD_ALLOC: {
        INVARIANT(len == 8);
        uint32_t addr = rd32(p), err = rd32(p + 4);
        if (err == JIT_ERR_OK) {
            INVARIANT(region_of(addr) >= 0);
        } else {
            INVARIANT(addr == 0);
            INVARIANT(err == JIT_ERR_ALLOC_FAIL || err == JIT_ERR_TABLE_FULL || err == JIT_ERR_BAD_ALIGN ||
                      err == JIT_ERR_LIMIT_BYTES || err == JIT_ERR_BAD_ARGUMENT);
        }
        break;
    }
    case JIT_CMD_FREE:
    case JIT_CMD_AUTH_RESPONSE:
    case JIT_CMD_AUTH_END: INVARIANT(len == 4 && rd32(p) == 0); break;
    case JIT_CMD_WRITE_MEM: INVARIANT(len == 8 && rd32(p) <= max_payload - 4 && rd32(p + 4) == 0); break;
    case JIT_CMD_EXEC: INVARIANT(len == 4); break;
    case JIT_CMD_CALL: INVARIANT(len == JIT_CALL_REPLY_SIZE); break;
    case JIT_CMD_HEAP_INFO: INVARIANT(len == 16 && rd32(p) <= rd32(p + 4) && rd32(p + 8) <= rd32(p + 12)); break;
    case JIT_CMD_LIST_ALLOCS: INVARIANT(len >= 4 && rd32(p) <= s_core.cfg.max_allocs && len == 4 + 12 * rd32(p)); break;
    case JIT_CMD_AUTH_CHALLENGE: INVARIANT(len == 32); break;
    case JIT_CMD_FEATURES: INVARIANT(len == 4 && (rd32(p) & ~JIT_FEATURES_ALL) == 0); break;
    case JIT_CMD_LAST_FAULT: {
        INVARIANT(len == JIT_LAST_FAULT_SIZE);
        uint32_t code = rd32(p);
        INVARIANT(code == JIT_ERR_OK || code == JIT_ERR_FAULT || code == JIT_ERR_TIMEOUT || code == JIT_ERR_OVERRUN);
        break;
    }
    default: break; /* OUTPUT: any bytes */
    }
}

/* Walks everything the device wrote; returns the number of replies (OUTPUT frames not counted). */
static size_t check_output(void)
{
    size_t len, at = 0, replies = 0;
    const uint8_t *b = pc_port_output(&len);
    bool authenticated = !(s_options & FUZZ_OPT_AUTH);
    bool session = false; /* authenticated with a secret: protected requests only in SESSION frames */
    bool output_pending = false;
    uint32_t features = 0; /* what the host asked for (FEATURES), forgotten by AUTH_END */
    int output_seq = -1;   /* sequence number of the pending OUTPUT, -1 when it was plain */
    uint32_t max_payload = s_core.cfg.max_payload;
    while (at < len) {
        INVARIANT(len - at >= JIT_HEADER_SIZE + JIT_CHECKSUM_SIZE);
        INVARIANT(b[at] == JIT_MAGIC0 && b[at + 1] == JIT_MAGIC1);
        uint8_t cmd = b[at + 2], flags = b[at + 3];
        uint32_t plen = rd32(b + at + 4);
        INVARIANT(plen <= len - at - JIT_HEADER_SIZE - JIT_CHECKSUM_SIZE);
        uint16_t sum = 0;
        for (size_t i = 0; i < JIT_HEADER_SIZE + (size_t)plen; i++) {
            sum = (uint16_t)(sum + b[at + i]);
        }
        const uint8_t *p = b + at + JIT_HEADER_SIZE;
        INVARIANT((p[plen] | (p[plen + 1] << 8)) == sum);
        INVARIANT(flags == JIT_FLAG_OK || flags == JIT_FLAG_ERROR);
        at += JIT_HEADER_SIZE + (size_t)plen + JIT_CHECKSUM_SIZE;
        /* SEALED with 4 bytes is a plain refusal of a damaged or short one; else it is sealed */
        int seq = -1;
        bool in_session = false;
        if (cmd == JIT_CMD_SESSION && !(flags == JIT_FLAG_ERROR && plen == 4)) {
            /* a reply in the session (its MAC: test_session.c; the fuzzer cannot forge one) */
            INVARIANT(session && plen >= JIT_SESSION_OVERHEAD);
            INVARIANT(p[2] == 0 && p[3] == 0);
            in_session = true;
            seq = p[1];
            cmd = p[0];
            plen -= JIT_SESSION_OVERHEAD;
            p += JIT_SESSION_HEADER_SIZE;
        } else if (cmd == JIT_CMD_SEALED && !(flags == JIT_FLAG_ERROR && plen == 4)) {
            INVARIANT(plen >= JIT_SEAL_OVERHEAD);
            uint32_t body = plen - JIT_SEAL_CRC_SIZE;
            INVARIANT(jit_crc32(0, p - JIT_HEADER_SIZE, JIT_HEADER_SIZE + (size_t)body) == rd32(p + body));
            INVARIANT(p[2] == 0 && p[3] == 0);
            seq = p[1];
            cmd = p[0];
            p += JIT_SEAL_HEADER_SIZE;
            plen = body - JIT_SEAL_HEADER_SIZE;
        }
        if (cmd == JIT_CMD_OUTPUT && flags == JIT_FLAG_OK) {
            /* (an error with this id answers a request that used it) */
            INVARIANT(features & JIT_FEATURE_OUTPUT);
            INVARIANT(!output_pending || seq == output_seq); /* one call's output, sealed alike */
            output_pending = true;
            output_seq = seq;
        } else {
            INVARIANT(!output_pending || cmd == JIT_CMD_EXEC || cmd == JIT_CMD_CALL);
            INVARIANT(!output_pending || seq == output_seq); /* a call's output carries its seal */
            output_pending = false;
            replies++;
        }
        bool allowed = session ? in_session : authenticated;
        if (flags == JIT_FLAG_OK) {
            check_ok(cmd, p, plen, max_payload, allowed, session && !in_session);
            if (cmd == JIT_CMD_AUTH_RESPONSE) {
                authenticated = true;
                session = (s_options & FUZZ_OPT_AUTH) != 0;
            } else if (cmd == JIT_CMD_AUTH_END) {
                authenticated = !(s_options & FUZZ_OPT_AUTH);
                session = false;
                features = 0;
            } else if (cmd == JIT_CMD_FEATURES) {
                features = rd32(p);
            }
        } else {
            check_error(cmd, p, plen, allowed, session && !in_session, (features & JIT_FEATURE_ERROR_DETAIL) != 0);
        }
    }
    INVARIANT(!output_pending);
    return replies;
}

/* The shadow table against the heap: every entry is a distinct live block of a region whose
 * caps it asked for, and the counters add up. */
static void check_table(void)
{
    uint32_t count = 0, bytes = 0;
    for (uint32_t i = 0; i < s_core.cfg.max_allocs; i++) {
        const jit_alloc_entry_t *e = &s_core.cfg.table[i];
        if (e->size == 0) {
            continue;
        }
        count++;
        bytes += e->size;
        int r = region_of(e->addr);
        INVARIANT(r >= 0);
        /* the heap's block holds the front guard, the bytes and the back guard */
        INVARIANT(jit_heap_block_size(pc_port_region(r), e->addr - e->lead) >=
                  e->lead + e->size + s_core.cfg.guard_size);
        INVARIANT((pc_port_region(r)->caps & e->caps) == e->caps);
        for (uint32_t j = i + 1; j < s_core.cfg.max_allocs; j++) {
            INVARIANT(s_core.cfg.table[j].size == 0 || s_core.cfg.table[j].addr != e->addr);
        }
    }
    INVARIANT(count == s_core.alloc_count);
    INVARIANT(bytes == s_core.alloc_bytes);
    INVARIANT(s_core.cfg.max_alloc_bytes == 0 || bytes <= s_core.cfg.max_alloc_bytes);
    for (int i = 0; i < 2; i++) {
        INVARIANT(jit_heap_check(pc_port_region(i)) == 0);
    }
}

/*
 * FUZZ_OPT_FIX_SEALS: finds the SEALED requests in the byte stream the segments make up and
 * writes their CRC-32 and checksum, in place in the input (a stream byte's input position is
 * pos[k]). Without it nearly every mutation of a sealed frame is refused at its CRC.
 */
static void fix_seals(uint8_t *in, size_t size)
{
    size_t *pos = malloc(size * sizeof *pos);
    uint8_t *stream = malloc(size);
    size_t n = 0;
    for (size_t at = 1; at < size;) {
        size_t len = (in[at++] & (FUZZ_SEGMENT_MAX - 1)) + 1u;
        for (size_t i = 0; i < len && at < size; i++, at++) {
            pos[n] = at;
            stream[n++] = in[at];
        }
    }
    for (size_t i = 0; i + JIT_HEADER_SIZE + JIT_CHECKSUM_SIZE <= n;) {
        uint32_t plen = rd32(stream + i + 4);
        bool sealed = stream[i] == JIT_MAGIC0 && stream[i + 1] == JIT_MAGIC1 && stream[i + 2] == JIT_CMD_SEALED &&
                      stream[i + 3] == JIT_FLAG_REQUEST && plen >= JIT_SEAL_OVERHEAD &&
                      plen <= n - i - JIT_HEADER_SIZE - JIT_CHECKSUM_SIZE;
        if (!sealed) {
            i++;
            continue;
        }
        size_t crc_at = i + JIT_HEADER_SIZE + plen - JIT_SEAL_CRC_SIZE;
        uint32_t crc = jit_crc32(0, stream + i, crc_at - i);
        for (int k = 0; k < 4; k++) {
            stream[crc_at + k] = (uint8_t)(crc >> (8 * k));
        }
        uint16_t sum = 0;
        for (size_t k = i; k < crc_at + JIT_SEAL_CRC_SIZE; k++) {
            sum = (uint16_t)(sum + stream[k]);
        }
        stream[crc_at + 4] = (uint8_t)sum;
        stream[crc_at + 5] = (uint8_t)(sum >> 8);
        for (size_t k = crc_at; k < crc_at + 6; k++) {
            in[pos[k]] = stream[k];
        }
        i = crc_at + 6;
    }
    free(stream);
    free(pos);
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    if (size == 0) {
        return 0;
    }
    uint8_t *data = malloc(size);
    memcpy(data, input, size);
    if (data[0] & FUZZ_OPT_FIX_SEALS) {
        fix_seals(data, size);
    }
    fuzz_setup(data[0]);
    size_t at = 1, frame_starts = 0;
    uint8_t last = 0;
    while (at < size) {
        uint8_t h = data[at++];
        size_t n = (h & (FUZZ_SEGMENT_MAX - 1)) + 1u;
        if (n > size - at) {
            n = size - at;
        }
        for (size_t i = 0; i < n; i++) {
            frame_starts += last == JIT_MAGIC0 && data[at + i] == JIT_MAGIC1;
            last = data[at + i];
        }
        fuzz_segment(h, data + at, n);
        at += n;
    }
    /* let a frame left hanging time out, so an oversized one is answered too */
    pc_port_advance(FUZZ_INTERBYTE_MS);
    jit_core_tick(&s_core);

    INVARIANT(check_output() <= frame_starts);
    check_table();
    jit_core_release_all(&s_core);
    INVARIANT(s_core.alloc_count == 0 && s_core.alloc_bytes == 0);
    for (int i = 0; i < 2; i++) {
        INVARIANT(pc_port_region(i)->free_bytes == s_initial_free[i]);
        INVARIANT(jit_heap_check(pc_port_region(i)) == 0);
    }
    free(data);
    return 0;
}

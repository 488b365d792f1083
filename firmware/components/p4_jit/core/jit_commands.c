/*
 * Command dispatcher of the P4-JIT core: one handler per command id (docs/protocol.md).
 * Every refusal is an error reply; nothing a host sends can make the device touch memory outside
 * a live allocation or stop answering.
 */
#include <string.h>

#include "jit_alloc_table.h"
#include "jit_auth.h"
#include "jit_core.h"
#include "jit_crc32.h"
#include "jit_guard.h"
#include "jit_protocol.h"

#define JIT_MAX_ARGS 32u
#define JIT_MAX_ALIGN 4096u

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/*
 * Code may run from an allocation made with MALLOC_CAP_EXEC, or from PSRAM: on the ESP32-P4 with
 * CONFIG_ESP_SYSTEM_PMP_IDRAM_SPLIT=n PSRAM is executable, and the original P4-JIT host allocates
 * its code with SPIRAM | 8BIT, so that must keep working.
 */
static bool is_executable(const jit_alloc_entry_t *e)
{
    return (e->caps & (JIT_CAP_MALLOC_EXEC | JIT_CAP_MALLOC_SPIRAM)) != 0;
}

static void reply_ok(uint8_t cmd, const void *data, uint32_t len)
{
    jit_reply_begin(cmd, JIT_FLAG_OK, len);
    jit_reply_data(data, len);
    jit_reply_end();
}

static void reply_words(uint8_t cmd, const uint32_t *words, uint32_t n)
{
    uint8_t buf[4 * 8];
    for (uint32_t i = 0; i < n; i++) {
        put32(&buf[4 * i], words[i]);
    }
    reply_ok(cmd, buf, 4 * n);
}

static void cmd_alloc(jit_core_t *core, const uint8_t *p)
{
    uint32_t size = rd32(p), caps = rd32(p + 4), align = rd32(p + 8);
    uint32_t out[2] = {0, JIT_ERR_OK};
    if (align == 0) {
        align = 4;
    }
    if (size == 0) {
        out[1] = JIT_ERR_BAD_ARGUMENT;
    } else if ((align & (align - 1)) != 0 || align > JIT_MAX_ALIGN) {
        out[1] = JIT_ERR_BAD_ALIGN;
    } else if (core->alloc_count >= core->cfg.max_allocs) {
        out[1] = JIT_ERR_TABLE_FULL;
    } else if (core->cfg.max_alloc_bytes != 0 &&
               (size > core->cfg.max_alloc_bytes || core->alloc_bytes > core->cfg.max_alloc_bytes - size)) {
        out[1] = JIT_ERR_LIMIT_BYTES;
    } else {
        /* the port's block holds the guards too: lead bytes in front, guard_size behind */
        uint32_t lead = jit_guard_lead(core, align);
        uint32_t total = size + lead + core->cfg.guard_size;
        uint32_t block = total < size ? 0 : jit_port_alloc(total, caps, align);
        if (block == 0) {
            out[1] = JIT_ERR_ALLOC_FAIL;
        } else {
            jit_table_add(core, block + lead, size, caps, lead); /* cannot fail: alloc_count < max_allocs */
            jit_guard_arm(core, jit_table_find(core, block + lead, size));
            out[0] = block + lead;
        }
    }
    reply_words(JIT_CMD_ALLOC, out, 2); /* as the seed: failures are flags 01, address 0, error */
}

static void cmd_free(jit_core_t *core, const uint8_t *p)
{
    uint32_t addr = rd32(p), block;
    uint32_t err = jit_table_remove(core, addr, &block);
    if (err != JIT_ERR_OK) {
        jit_reply_error(JIT_CMD_FREE, err, NULL, 0);
        return;
    }
    jit_port_free(block);
    uint32_t status = JIT_ERR_OK;
    reply_words(JIT_CMD_FREE, &status, 1);
}

static void cmd_write(jit_core_t *core, const uint8_t *p, uint32_t len)
{
    uint32_t addr = rd32(p), n = len - 4;
    const jit_alloc_entry_t *e = jit_table_find(core, addr, n);
    if (e == NULL) {
        jit_reply_error(JIT_CMD_WRITE_MEM, JIT_ERR_NOT_ALLOCATED, NULL, 0);
        return;
    }
    memcpy(jit_port_ptr(addr), p + 4, n);
    jit_port_sync(addr, n, is_executable(e));
    uint32_t out[2] = {n, JIT_ERR_OK};
    reply_words(JIT_CMD_WRITE_MEM, out, 2);
}

static void cmd_read(jit_core_t *core, const uint8_t *p)
{
    uint32_t addr = rd32(p), n = rd32(p + 4);
    if (n > core->cfg.max_payload) {
        jit_reply_error(JIT_CMD_READ_MEM, JIT_ERR_PAYLOAD_TOO_LARGE, NULL, 0);
        return;
    }
    if (jit_table_find(core, addr, n) == NULL) {
        jit_reply_error(JIT_CMD_READ_MEM, JIT_ERR_NOT_ALLOCATED, NULL, 0);
        return;
    }
    reply_ok(JIT_CMD_READ_MEM, jit_port_ptr(addr), n); /* straight from memory, no copy */
}

/*
 * Runs a call and answers a fault, a time-out or an overrun; returns true when the call returned
 * and left every guard intact. An overrun's record follows a fault's or a time-out's detail.
 */
static bool run_call(jit_core_t *core, uint8_t cmd, jit_call_t *call, jit_run_result_t *res)
{
    const jit_alloc_entry_t *e = jit_table_find(core, call->entry, 2);
    if (e == NULL || !is_executable(e)) {
        jit_reply_error(cmd, JIT_ERR_NOT_EXECUTABLE, NULL, 0);
        return false;
    }
    memset(res, 0, sizeof *res);
    call->output_to_host = (core->features & JIT_FEATURE_OUTPUT) != 0;
    jit_port_run(call, res);
    jit_call_failure_t f = {.entry = call->entry};
    if (res->status == JIT_RUN_FAULT) {
        f.code = JIT_ERR_FAULT;
        f.mcause = res->mcause;
        f.mepc = res->mepc;
        f.mtval = res->mtval;
    } else if (res->status == JIT_RUN_TIMEOUT) {
        f.code = JIT_ERR_TIMEOUT;
        f.mepc = res->mepc;
    }
    bool overrun = jit_guard_check(core, f.overrun) != 0;
    if (overrun && f.code == JIT_ERR_OK) {
        f.code = JIT_ERR_OVERRUN;
    }
    if (f.code == JIT_ERR_OK) {
        return true;
    }
    core->last_failure = f;
    /* a seed host reads an error payload as one code: the detail only for a host that asked */
    uint32_t detail[3 + JIT_OVERRUN_WORDS];
    uint32_t n = 0;
    if (core->features & JIT_FEATURE_ERROR_DETAIL) {
        if (f.code == JIT_ERR_FAULT) {
            detail[n++] = f.mcause;
            detail[n++] = f.mepc;
            detail[n++] = f.mtval;
        } else if (f.code == JIT_ERR_TIMEOUT) {
            detail[n++] = f.mepc;
        }
        if (overrun) {
            memcpy(&detail[n], f.overrun, sizeof f.overrun);
            n += JIT_OVERRUN_WORDS;
        }
    }
    jit_reply_error(cmd, f.code, detail, n);
    return false;
}

static void cmd_exec(jit_core_t *core, const uint8_t *p)
{
    jit_call_t call = {.kind = JIT_CALL_EXEC, .entry = rd32(p), .limit_ms = core->cfg.default_call_ms};
    jit_run_result_t res;
    if (run_call(core, JIT_CMD_EXEC, &call, &res)) {
        uint32_t ret = (uint32_t)call.ret;
        reply_words(JIT_CMD_EXEC, &ret, 1);
    }
}

static void cmd_call(jit_core_t *core, const uint8_t *p, uint32_t len)
{
    uint64_t slots[JIT_MAX_ARGS];
    uint32_t nargs = (len - 8) / JIT_SLOT_SIZE;
    uint32_t limit = rd32(p + 4);
    if ((len - 8) % JIT_SLOT_SIZE != 0) {
        jit_reply_error(JIT_CMD_CALL, JIT_ERR_BAD_LENGTH, NULL, 0);
        return;
    }
    if (nargs > JIT_MAX_ARGS || limit > core->cfg.max_call_ms) {
        jit_reply_error(JIT_CMD_CALL, JIT_ERR_BAD_ARGUMENT, NULL, 0);
        return;
    }
    memcpy(slots, p + 8, nargs * JIT_SLOT_SIZE);
    jit_call_t call = {.kind = JIT_CALL_SLOTS,
                       .entry = rd32(p),
                       .args = slots,
                       .nargs = nargs,
                       .limit_ms = limit ? limit : core->cfg.default_call_ms};
    jit_run_result_t res;
    if (run_call(core, JIT_CMD_CALL, &call, &res)) {
        uint8_t out[JIT_CALL_REPLY_SIZE];
        put32(out, (uint32_t)call.ret);
        put32(out + 4, (uint32_t)(call.ret >> 32));
        put32(out + 8, (uint32_t)res.cycles);
        put32(out + 12, (uint32_t)(res.cycles >> 32));
        put32(out + 16, res.time_us);
        reply_ok(JIT_CMD_CALL, out, sizeof out);
    }
}

static void cmd_features(jit_core_t *core, const uint8_t *p)
{
    core->features = rd32(p) & JIT_FEATURES_ALL; /* unknown bits: not granted, the reply says so */
    reply_words(JIT_CMD_FEATURES, &core->features, 1);
}

static void cmd_last_fault(const jit_core_t *core)
{
    const jit_call_failure_t *f = &core->last_failure;
    uint32_t w[JIT_LAST_FAULT_SIZE / 4] = {f->code, f->entry, f->mcause, f->mepc, f->mtval};
    uint8_t out[JIT_LAST_FAULT_SIZE];
    memcpy(&w[5], f->overrun, sizeof f->overrun);
    for (uint32_t i = 0; i < JIT_LAST_FAULT_SIZE / 4; i++) {
        put32(&out[4 * i], w[i]);
    }
    reply_ok(JIT_CMD_LAST_FAULT, out, sizeof out);
}

static void cmd_heap_info(void)
{
    uint32_t w[4];
    jit_port_heap_info(&w[0], &w[1], &w[2], &w[3]);
    reply_words(JIT_CMD_HEAP_INFO, w, 4);
}

static void cmd_info(jit_core_t *core)
{
    jit_board_info_t b;
    uint8_t out[JIT_INFO_SIZE];
    memset(&b, 0, sizeof b);
    memset(out, 0, sizeof out);
    jit_port_board_info(&b);
    uint32_t caps = b.capabilities | JIT_CAP_CALL | JIT_CAP_LIST_ALLOCS | JIT_CAP_OUTPUT | JIT_CAP_SEALED |
                    JIT_CAP_FEATURES | JIT_CAP_SESSION;
    if (core->cfg.auth_secret != NULL) {
        caps |= JIT_CAP_AUTH_REQUIRED;
    }
    /* in a session, only the session's own INFO says so: any other host has to authenticate */
    if (core->session ? core->in_session : core->authenticated) {
        caps |= JIT_CAP_AUTHENTICATED;
    }
    put32(out + 0, JIT_PROTOCOL_VERSION);
    put32(out + 4, core->cfg.max_payload);
    put32(out + 8, b.cache_line);
    put32(out + 12, caps);
    put32(out + 16, b.cpu_hz);
    put32(out + 20, b.reset_reason);
    put32(out + 24, core->cfg.max_allocs);
    put32(out + 28, core->cfg.max_alloc_bytes);
    put32(out + 32, core->cfg.default_call_ms);
    put32(out + 36, core->cfg.max_call_ms);
    memcpy(out + 40, b.firmware_id, 32);
    put32(out + 72, b.last_fault.valid);
    put32(out + 76, b.last_fault.mcause);
    put32(out + 80, b.last_fault.mepc);
    put32(out + 84, b.last_fault.mtval);
    put32(out + 88, b.last_fault.entry);
    memcpy(out + 92, b.board, sizeof b.board);
    put32(out + 108, JIT_MAX_ARGS);
    put32(out + 112, core->boot_id);
    reply_ok(JIT_CMD_INFO, out, sizeof out);
}

static void cmd_list_allocs(jit_core_t *core)
{
    uint32_t count = core->alloc_count;
    jit_reply_begin(JIT_CMD_LIST_ALLOCS, JIT_FLAG_OK, 4 + 12 * count);
    uint8_t w[12];
    put32(w, count);
    jit_reply_data(w, 4);
    for (uint32_t i = 0; i < core->cfg.max_allocs; i++) {
        const jit_alloc_entry_t *e = &core->cfg.table[i];
        if (e->size != 0) {
            put32(w, e->addr);
            put32(w + 4, e->size);
            put32(w + 8, e->caps);
            jit_reply_data(w, 12);
        }
    }
    jit_reply_end();
}

/*
 * SEALED: the inner request runs only when the CRC-32 over the whole frame matches, and every
 * frame sent while it runs is sealed with its sequence byte. A damaged frame gets a plain
 * CHECKSUM refusal (its sequence byte cannot be trusted): the host knows it did not run.
 */
static void cmd_sealed(jit_core_t *core, const uint8_t *p, uint32_t len)
{
    uint32_t body = len - JIT_SEAL_CRC_SIZE;
    uint32_t crc = jit_crc32(jit_crc32(0, core->header, JIT_HEADER_SIZE), p, body);
    if (crc != rd32(p + body)) {
        core->frames_bad++;
        jit_reply_error(JIT_CMD_SEALED, JIT_ERR_CHECKSUM, NULL, 0);
        return;
    }
    uint8_t inner = p[0];
    jit_reply_seal(true, p[1]);
    if (inner == JIT_CMD_SEALED || p[2] != 0 || p[3] != 0) {
        jit_reply_error(JIT_CMD_SEALED, JIT_ERR_BAD_ARGUMENT, NULL, 0); /* no nesting; reserved 0 */
    } else {
        jit_core_dispatch(core, inner, p + JIT_SEAL_HEADER_SIZE, body - JIT_SEAL_HEADER_SIZE);
    }
    jit_reply_seal(false, 0);
}

/*
 * SESSION: like SEALED, with a counter and a MAC under the session key instead of the CRC. Only a
 * host that knows the secret can make one, and each counter serves once: a process that shares
 * the port cannot inject a request into the session, nor replay one. A frame whose MAC does not
 * match gets a plain CHECKSUM (damage and forgery look alike; it did not run).
 */
static void cmd_session(jit_core_t *core, const uint8_t *p, uint32_t len)
{
    if (!core->session) {
        jit_reply_error(JIT_CMD_SESSION, JIT_ERR_NOT_AUTHENTICATED, NULL, 0);
        return;
    }
    uint32_t body = len - JIT_SESSION_TAG_SIZE;
    uint8_t tag[32];
    jit_hmac_t h;
    jit_hmac_begin(&h, core->session_key, sizeof core->session_key);
    jit_hmac_update(&h, core->header, JIT_HEADER_SIZE);
    jit_hmac_update(&h, p, body);
    jit_hmac_end(&h, tag);
    uint8_t diff = 0;
    for (uint32_t i = 0; i < JIT_SESSION_TAG_SIZE; i++) {
        diff |= (uint8_t)(tag[i] ^ p[body + i]); /* constant time */
    }
    if (diff != 0) {
        core->frames_bad++;
        jit_reply_error(JIT_CMD_SESSION, JIT_ERR_CHECKSUM, NULL, 0);
        return;
    }
    uint32_t counter = rd32(p + 4);
    if (counter <= core->session_counter) {
        jit_reply_error(JIT_CMD_SESSION, JIT_ERR_NOT_AUTHENTICATED, NULL, 0); /* a replay */
        return;
    }
    core->session_counter = counter;
    uint8_t inner = p[0];
    jit_reply_session(core->session_key, p[1], counter);
    if (inner == JIT_CMD_SEALED || inner == JIT_CMD_SESSION || p[2] != 0 || p[3] != 0) {
        jit_reply_error(JIT_CMD_SESSION, JIT_ERR_BAD_ARGUMENT, NULL, 0); /* no nesting; reserved 0 */
    } else {
        core->in_session = true;
        jit_core_dispatch(core, inner, p + JIT_SESSION_HEADER_SIZE, body - JIT_SESSION_HEADER_SIZE);
        core->in_session = false;
    }
    jit_reply_seal(false, 0);
}

/* Payload length each command requires: exact, or a minimum when "at_least" */
static bool length_ok(uint8_t cmd, uint32_t len)
{
    switch (cmd) {
    case JIT_CMD_ALLOC: return len == 12;
    case JIT_CMD_FREE: return len == 4;
    case JIT_CMD_WRITE_MEM: return len >= 4;
    case JIT_CMD_READ_MEM: return len == 8;
    case JIT_CMD_EXEC: return len == 4;
    case JIT_CMD_FEATURES: return len == 4;
    case JIT_CMD_CALL: return len >= 8;
    case JIT_CMD_HEAP_INFO:
    case JIT_CMD_INFO:
    case JIT_CMD_LIST_ALLOCS:
    case JIT_CMD_LAST_FAULT:
    case JIT_CMD_AUTH_CHALLENGE:
    case JIT_CMD_AUTH_END: return len == 0;
    case JIT_CMD_AUTH_RESPONSE: return len == 32 || len == 32 + JIT_HOST_NONCE_SIZE;
    case JIT_CMD_SESSION: return len >= JIT_SESSION_OVERHEAD;
    case JIT_CMD_SEALED: return len >= JIT_SEAL_OVERHEAD;
    default: return true;
    }
}

void jit_core_dispatch(jit_core_t *core, uint8_t cmd, const uint8_t *p, uint32_t len)
{
    /* FEATURES only shapes this host's replies: a host may choose them before it authenticates.
       Once a session exists, AUTH_END too must come from it: no one else may end it. */
    bool open_cmd = cmd == JIT_CMD_PING || cmd == JIT_CMD_INFO || cmd == JIT_CMD_FEATURES ||
                    cmd == JIT_CMD_AUTH_CHALLENGE || cmd == JIT_CMD_AUTH_RESPONSE ||
                    (cmd == JIT_CMD_AUTH_END && !core->session) || cmd == JIT_CMD_SEALED ||
                    cmd == JIT_CMD_SESSION; /* their inner one is checked */
    bool allowed = core->session ? core->in_session : core->authenticated;
    if (!allowed && !open_cmd) {
        jit_reply_error(cmd, JIT_ERR_NOT_AUTHENTICATED, NULL, 0);
        return;
    }
    if (!length_ok(cmd, len)) {
        jit_reply_error(cmd, JIT_ERR_BAD_LENGTH, NULL, 0);
        return;
    }
    switch (cmd) {
    case JIT_CMD_PING: reply_ok(cmd, p, len); break;
    case JIT_CMD_INFO: cmd_info(core); break;
    case JIT_CMD_ALLOC: cmd_alloc(core, p); break;
    case JIT_CMD_FREE: cmd_free(core, p); break;
    case JIT_CMD_WRITE_MEM: cmd_write(core, p, len); break;
    case JIT_CMD_READ_MEM: cmd_read(core, p); break;
    case JIT_CMD_EXEC: cmd_exec(core, p); break;
    case JIT_CMD_CALL: cmd_call(core, p, len); break;
    case JIT_CMD_HEAP_INFO: cmd_heap_info(); break;
    case JIT_CMD_LIST_ALLOCS: cmd_list_allocs(core); break;
    case JIT_CMD_FEATURES: cmd_features(core, p); break;
    case JIT_CMD_LAST_FAULT: cmd_last_fault(core); break;
    case JIT_CMD_AUTH_CHALLENGE: jit_auth_challenge(core); break;
    case JIT_CMD_AUTH_RESPONSE: jit_auth_response(core, p, len); break;
    case JIT_CMD_SESSION: cmd_session(core, p, len); break;
    case JIT_CMD_AUTH_END: jit_auth_end(core); break;
    case JIT_CMD_SEALED: cmd_sealed(core, p, len); break;
    default: jit_reply_error(cmd, JIT_ERR_UNKNOWN_CMD, NULL, 0); break;
    }
}

void jit_core_release_all(jit_core_t *core)
{
    for (uint32_t i = 0; i < core->cfg.max_allocs; i++) {
        jit_alloc_entry_t *e = &core->cfg.table[i];
        uint32_t block;
        if (e->size != 0 && jit_table_remove(core, e->addr, &block) == JIT_ERR_OK) {
            jit_port_free(block);
        }
    }
}

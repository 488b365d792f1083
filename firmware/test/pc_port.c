/*
 * jit_port.h for the host build (see pc_port.h for the simulated instruction encoding).
 * Arenas are malloc'd to their exact size so that AddressSanitizer reports any access the core
 * makes outside them.
 */
#include "pc_port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit_auth.h"
#include "jit_core.h"

static struct {
    jit_heap_region_t regions[2];
    jit_heap_block_t blocks[2][PC_HEAP_BLOCKS];
    uint8_t *mem[2];
    uint32_t mem_size[2];
    uint32_t now_ms;
    uint8_t *out;
    size_t out_len, out_cap;
    char console[256]; /* the last bytes printed for a host that did not ask for OUTPUT frames */
    size_t console_len;
    uint64_t random_state;
    pc_sync_log_t sync;
    jit_fault_record_t last_fault;
} s;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        fprintf(stderr, "pc_port: out of memory\n");
        abort();
    }
    return p;
}

pc_port_config_t pc_port_defaults(void)
{
    pc_port_config_t cfg = {
        .psram_base = PC_PSRAM_BASE,
        .psram_size = 64u * 1024u,
        .internal_base = PC_INTERNAL_BASE,
        .internal_size = 16u * 1024u,
        .start_ms = 1000,
    };
    return cfg;
}

void pc_port_init(const pc_port_config_t *cfg)
{
    const uint32_t base[2] = {cfg->psram_base, cfg->internal_base};
    const uint32_t size[2] = {cfg->psram_size, cfg->internal_size};
    const uint32_t caps[2] = {JIT_HEAP_P4_PSRAM_CAPS, JIT_HEAP_P4_INTERNAL_CAPS};
    for (int i = 0; i < 2; i++) {
        if (s.mem[i] == NULL || s.mem_size[i] != size[i]) { /* kept across inits: fuzzing speed */
            free(s.mem[i]);
            s.mem[i] = xrealloc(NULL, size[i]);
            s.mem_size[i] = size[i];
        }
        memset(s.mem[i], 0, size[i]);
        jit_heap_init(&s.regions[i], base[i], s.mem[i], size[i], caps[i], s.blocks[i], PC_HEAP_BLOCKS);
    }
    s.now_ms = cfg->start_ms;
    s.out_len = 0;
    s.console_len = 0;
    s.random_state = 0x9e3779b97f4a7c15ull;
    memset(&s.sync, 0, sizeof s.sync);
    memset(&s.last_fault, 0, sizeof s.last_fault);
}

void pc_port_fini(void)
{
    for (int i = 0; i < 2; i++) {
        free(s.mem[i]);
        s.mem[i] = NULL;
    }
    free(s.out);
    s.out = NULL;
    s.out_len = s.out_cap = 0;
}

void pc_port_advance(uint32_t ms)
{
    s.now_ms += ms;
}

void pc_port_set_millis(uint32_t ms)
{
    s.now_ms = ms;
}

const uint8_t *pc_port_output(size_t *len)
{
    *len = s.out_len;
    return s.out;
}

void pc_port_clear_output(void)
{
    s.out_len = 0;
}

const char *pc_port_console(void)
{
    s.console[s.console_len] = '\0';
    return s.console;
}

/* keeps the newest bytes: a fuzzed call may print any amount */
static void console_write(const uint8_t *data, size_t n)
{
    size_t room = sizeof s.console - 1;
    if (n >= room) {
        data += n - room;
        n = room;
    }
    if (s.console_len + n > room) {
        size_t drop = s.console_len + n - room;
        memmove(s.console, s.console + drop, s.console_len - drop);
        s.console_len -= drop;
    }
    memcpy(s.console + s.console_len, data, n);
    s.console_len += n;
}

jit_heap_region_t *pc_port_region(int which)
{
    return &s.regions[which];
}

const pc_sync_log_t *pc_port_sync_log(void)
{
    return &s.sync;
}

/* ---- jit_port.h ---- */

void jit_port_write(const uint8_t *data, size_t len)
{
    if (s.out_len + len > s.out_cap) {
        s.out_cap = (s.out_len + len) * 2 + 256;
        s.out = xrealloc(s.out, s.out_cap);
    }
    memcpy(s.out + s.out_len, data, len);
    s.out_len += len;
}

uint32_t jit_port_millis(void)
{
    return s.now_ms;
}

uint32_t jit_port_alloc(uint32_t size, uint32_t caps, uint32_t align)
{
    /* like ESP-IDF with SPIRAM_USE_MALLOC: PSRAM first unless its caps do not fit */
    for (int i = 0; i < 2; i++) {
        if ((s.regions[i].caps & caps) == caps) {
            uint32_t a = jit_heap_alloc(&s.regions[i], size, align);
            if (a != 0) {
                return a;
            }
        }
    }
    return 0;
}

void jit_port_free(uint32_t addr)
{
    for (int i = 0; i < 2; i++) {
        if (jit_heap_owns(&s.regions[i], addr)) {
            if (jit_heap_free(&s.regions[i], addr) != 0) {
                fprintf(stderr, "pc_port: free of 0x%08x, not a live block\n", (unsigned)addr);
                abort(); /* the core only frees what it allocated: anything else is its bug */
            }
            return;
        }
    }
    fprintf(stderr, "pc_port: free of 0x%08x, outside every arena\n", (unsigned)addr);
    abort();
}

/* Host pointer for [addr, addr+len) when it lies inside one arena, else NULL. 64-bit arguments:
 * the interpreter's program counter may run past 2^32. */
static uint8_t *map_range(uint64_t addr, uint64_t len)
{
    for (int i = 0; i < 2; i++) {
        const jit_heap_region_t *r = &s.regions[i];
        if (addr >= r->dev_base && addr + len <= (uint64_t)r->dev_base + r->size) {
            return r->mem + (addr - r->dev_base);
        }
    }
    return NULL;
}

void *jit_port_ptr(uint32_t addr)
{
    uint8_t *p = map_range(addr, 0);
    if (p == NULL) {
        fprintf(stderr, "pc_port: pointer to 0x%08x, outside every arena\n", (unsigned)addr);
        abort(); /* the core only maps addresses of its table: anything else is its bug */
    }
    return p;
}

void jit_port_heap_info(uint32_t *free_spiram, uint32_t *total_spiram, uint32_t *free_internal,
                        uint32_t *total_internal)
{
    *free_spiram = s.regions[0].free_bytes;
    *total_spiram = s.regions[0].size;
    *free_internal = s.regions[1].free_bytes;
    *total_internal = s.regions[1].size;
}

void jit_port_sync(uint32_t addr, uint32_t len, bool exec)
{
    s.sync.count++;
    s.sync.addr = addr;
    s.sync.len = len;
    s.sync.exec = exec;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* The instruction at pc with its operand words, or NULL when it does not lie inside an arena. */
static const uint8_t *fetch(uint64_t pc, uint32_t words)
{
    return map_range(pc, 4ull * words);
}

static void trap(jit_run_result_t *res, const jit_call_t *call, uint32_t mcause, uint32_t mepc, uint32_t mtval)
{
    res->status = JIT_RUN_FAULT;
    res->mcause = mcause;
    res->mepc = mepc;
    res->mtval = mtval;
    s.last_fault = (jit_fault_record_t){1, mcause, mepc, mtval, call->entry};
}

/* Interprets the test encoding from call->entry until it returns, traps or times out. */
static void interpret(jit_call_t *call, jit_run_result_t *res, uint32_t t0)
{
    uint64_t pc = call->entry;
    for (;;) {
        const uint8_t *ins = fetch(pc, 1);
        if (ins == NULL) {
            trap(res, call, 1, (uint32_t)pc, (uint32_t)pc);
            return;
        }
        res->cycles++;
        uint32_t op = rd32(ins);
        uint32_t operands = op == PC_OP_RET || op == PC_OP_FAULT ? 2 : op == PC_OP_SPIN ? 0 : op == PC_OP_FILL ? 3 : 1;
        if (op >= PC_OP_RET && op <= PC_OP_FILL && fetch(pc, 1 + operands) == NULL) {
            trap(res, call, 1, (uint32_t)pc, (uint32_t)pc);
            return;
        }
        switch (op) {
        case PC_OP_RET:
            if (call->kind == JIT_CALL_EXEC) {
                call->ret = (uint64_t)(int64_t)(int32_t)rd32(ins + 4);
            } else {
                call->ret = rd32(ins + 4) | ((uint64_t)rd32(ins + 8) << 32);
            }
            return;
        case PC_OP_FAULT: trap(res, call, rd32(ins + 4), (uint32_t)pc, rd32(ins + 8)); return;
        case PC_OP_SPIN:
            s.now_ms = t0 + call->limit_ms;
            res->status = JIT_RUN_TIMEOUT;
            res->mepc = (uint32_t)pc;
            return;
        case PC_OP_PRINT: {
            uint32_t n = rd32(ins + 4);
            uint64_t padded = ((uint64_t)n + 3) & ~3ull;
            const uint8_t *text = map_range(pc + 8, padded);
            if (text == NULL) {
                trap(res, call, 5, (uint32_t)pc, (uint32_t)(pc + 8)); /* load fault reading the text */
                return;
            }
            if (call->output_to_host) {
                jit_core_output(text, n);
            } else {
                console_write(text, n);
            }
            pc += 8 + padded;
            break;
        }
        case PC_OP_RET_ARG: {
            uint32_t k = rd32(ins + 4);
            if (call->kind != JIT_CALL_SLOTS || k >= call->nargs) {
                trap(res, call, 5, (uint32_t)pc, k);
                return;
            }
            call->ret = call->args[k];
            return;
        }
        case PC_OP_SLEEP: {
            uint32_t ms = rd32(ins + 4);
            uint32_t spent = s.now_ms - t0;
            if (ms >= call->limit_ms - spent) {
                s.now_ms = t0 + call->limit_ms;
                res->status = JIT_RUN_TIMEOUT;
                res->mepc = (uint32_t)pc;
                return;
            }
            s.now_ms += ms;
            pc += 8;
            break;
        }
        case PC_OP_FILL: {
            uint64_t addr = rd32(ins + 4), n = rd32(ins + 8);
            for (uint64_t i = 0; i < n; i++) {
                uint8_t *p = map_range(addr + i, 1);
                if (p == NULL) {
                    trap(res, call, 7, (uint32_t)pc, (uint32_t)(addr + i));
                    return;
                }
                *p = (uint8_t)rd32(ins + 12);
            }
            pc += 16;
            break;
        }
        default: trap(res, call, 2, (uint32_t)pc, op); return;
        }
    }
}

void jit_port_run(jit_call_t *call, jit_run_result_t *res)
{
    uint32_t t0 = s.now_ms;
    call->ret = 0;
    res->status = JIT_RUN_OK;
    res->cycles = 0;
    interpret(call, res, t0);
    res->time_us = (s.now_ms - t0) * 1000u;
}

void jit_port_board_info(jit_board_info_t *info)
{
    static const char id[] = "p4-jit host build";
    info->cache_line = 64;
    info->capabilities = JIT_CAP_FAULT_RECOVERY;
    info->cpu_hz = PC_CPU_HZ;
    info->reset_reason = 1; /* power-on */
    jit_sha256((const uint8_t *)id, sizeof id - 1, info->firmware_id);
    info->last_fault = s.last_fault;
    strncpy(info->board, HOST_BOARD_NAME, sizeof info->board);
}

void jit_port_random(uint8_t *buf, size_t len)
{
    /* splitmix64: deterministic, so tests and fuzz inputs can replay a nonce */
    for (size_t i = 0; i < len; i++) {
        uint64_t z = (s.random_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        buf[i] = (uint8_t)(z ^ (z >> 31));
    }
}

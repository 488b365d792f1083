/*
 * The emulated ESP32-P4: the P4-JIT protocol core on QEMU riscv32 "virt" (RV32IMAFC, M-mode).
 * Transport: the NS16550A UART (a serial pty on the host, like a board's USB CDC port).
 * Heap: a PSRAM-like and an internal-like region answering ESP-IDF caps bits.
 * JIT calls run under a trap handler that turns faults and time-outs into error replies.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "jit_auth.h"
#include "jit_core.h"
#include "jit_heap.h"
#include "jit_protocol.h"

#define REG8(a) (*(volatile uint8_t *)(uintptr_t)(a))
#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

#define UART 0x10000000u
#define UART_RBR (UART + 0)
#define UART_THR (UART + 0)
#define UART_IER (UART + 1)
#define UART_FCR (UART + 2)
#define UART_LCR (UART + 3)
#define UART_LSR (UART + 5)
#define UART_IRQ 10u

#define PLIC 0x0c000000u
#define PLIC_PRIORITY(irq) (PLIC + 4u * (irq))
#define PLIC_ENABLE (PLIC + 0x2000u)
#define PLIC_THRESHOLD (PLIC + 0x200000u)
#define PLIC_CLAIM (PLIC + 0x200004u)

#define CLINT_MTIMECMP 0x02004000u
#define CLINT_MTIME 0x0200bff8u
#define MTIME_HZ 10000000u

#define MIP_MTIP (1u << 7)
#define MIE_MTIE (1u << 7)
#define MIE_MEIE (1u << 11)
#define MSTATUS_MIE (1u << 3)

#define PAYLOAD_MAX (1024u * 1024u)
#define MAX_ALLOCS 256u

extern char __image_ro_start[], __image_ro_end[];
extern char __internal_start[], __internal_size[], __psram_start[], __psram_size[];

static uint8_t s_rx_buffer[PAYLOAD_MAX] __attribute__((aligned(16)));
static jit_alloc_entry_t s_table[MAX_ALLOCS];
static jit_core_t s_core;
static jit_heap_region_t s_psram, s_internal;
static uint8_t s_image_id[32];
static board_options_t s_opts;

/* a fault of the firmware itself, kept across the reset it causes */
static jit_fault_record_t s_last_fault __attribute__((section(".noinit")));
static uint32_t s_last_fault_magic __attribute__((section(".noinit")));
#define FAULT_MAGIC 0x46415554u

/* ---- time ---- */

static uint64_t mtime(void)
{
    uint32_t hi, lo;
    do {
        hi = REG32(CLINT_MTIME + 4);
        lo = REG32(CLINT_MTIME);
    } while (hi != REG32(CLINT_MTIME + 4));
    return ((uint64_t)hi << 32) | lo;
}

static void timer_at(uint64_t when)
{
    REG32(CLINT_MTIMECMP + 4) = 0xffffffffu;
    REG32(CLINT_MTIMECMP) = (uint32_t)when;
    REG32(CLINT_MTIMECMP + 4) = (uint32_t)(when >> 32);
}

static void timer_off(void)
{
    timer_at(UINT64_MAX);
}

static uint64_t rdcycle64(void)
{
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile("rdcycleh %0" : "=r"(hi));
        __asm__ volatile("rdcycle %0" : "=r"(lo));
        __asm__ volatile("rdcycleh %0" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

uint32_t jit_port_millis(void)
{
    return (uint32_t)(mtime() / (MTIME_HZ / 1000u));
}

/* ---- UART ---- */

static void uart_init(void)
{
    REG8(UART_LCR) = 0x80; /* divisor latch: 115200 baud from 1.8432 MHz */
    REG8(UART + 0) = 1;
    REG8(UART + 1) = 0;
    REG8(UART_LCR) = 0x03; /* 8N1 */
    REG8(UART_FCR) = 0xc7; /* FIFO on, cleared, receive trigger at 14 bytes */
    (void)REG8(UART_RBR);  /* QEMU stops feeding the guest after an FCR write until RBR is read */
    REG8(UART_IER) = 0x01; /* receive-data interrupt (also fires on the FIFO character time-out) */

    REG32(PLIC_PRIORITY(UART_IRQ)) = 1;
    REG32(PLIC_ENABLE) = 1u << UART_IRQ;
    REG32(PLIC_THRESHOLD) = 0;
    /* interrupts wake wfi but are taken with mstatus.MIE off: no handler runs for them */
    __asm__ volatile("csrs mie, %0" ::"r"(MIE_MEIE));
}

void jit_port_write(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while ((REG8(UART_LSR) & 0x20) == 0) {
        }
        REG8(UART_THR) = data[i];
    }
}

/* ---- output of JIT code (printf) ---- */

static uint8_t s_out[256];
static size_t s_out_len;

static void output_flush(void)
{
    if (s_out_len > 0) {
        uint32_t mstatus;
        /* a time-out must not cut a frame in half */
        __asm__ volatile("csrrc %0, mstatus, %1" : "=r"(mstatus) : "r"(MSTATUS_MIE));
        jit_core_output(s_out, s_out_len);
        s_out_len = 0;
        __asm__ volatile("csrs mstatus, %0" ::"r"(mstatus & MSTATUS_MIE));
    }
}

static int stdout_putc(char c, FILE *f)
{
    (void)f;
    s_out[s_out_len++] = (uint8_t)c;
    if (c == '\n' || s_out_len == sizeof s_out) {
        output_flush();
    }
    return (unsigned char)c;
}

static FILE s_stdout = FDEV_SETUP_STREAM(stdout_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &s_stdout;
FILE *const stderr = &s_stdout;

/* ---- heap ---- */

uint32_t jit_port_alloc(uint32_t size, uint32_t caps, uint32_t align)
{
    /* like ESP-IDF with SPIRAM_USE_MALLOC: PSRAM first unless internal memory is asked for */
    jit_heap_region_t *order[2] = {&s_psram, &s_internal};
    for (int i = 0; i < 2; i++) {
        if ((order[i]->caps & caps) == caps) {
            uint32_t a = jit_heap_alloc(order[i], size, align);
            if (a != 0) {
                return a;
            }
        }
    }
    return 0;
}

void jit_port_free(uint32_t addr)
{
    if (jit_heap_free(&s_psram, addr) != 0) {
        jit_heap_free(&s_internal, addr);
    }
}

void *jit_port_ptr(uint32_t addr)
{
    return (void *)(uintptr_t)addr;
}

void jit_port_heap_info(uint32_t *free_spiram, uint32_t *total_spiram, uint32_t *free_internal,
                        uint32_t *total_internal)
{
    *free_spiram = s_psram.free_bytes;
    *total_spiram = s_psram.size;
    *free_internal = s_internal.free_bytes;
    *total_internal = s_internal.size;
}

void jit_port_sync(uint32_t addr, uint32_t len, bool exec)
{
    (void)addr;
    (void)len;
    /* QEMU models no caches, but a real hart needs this before running new code */
    if (exec) {
        __asm__ volatile("fence.i" ::: "memory");
    } else {
        __asm__ volatile("fence rw, rw" ::: "memory");
    }
}

/* ---- running JIT code ---- */

static jmp_buf s_recover;
static volatile int s_in_call;
static jit_run_result_t *volatile s_result;
static volatile uint32_t s_entry;

void jit_port_run(jit_call_t *call, jit_run_result_t *res)
{
    uint64_t t0, c0, t1, c1;
    s_result = res;
    s_entry = call->entry;
    s_out_len = 0;
    call->ret = 0;
    t0 = mtime();
    c0 = rdcycle64();
    if (setjmp(s_recover) == 0) {
        timer_at(t0 + (uint64_t)call->limit_ms * (MTIME_HZ / 1000u));
        s_in_call = 1;
        __asm__ volatile("csrc mie, %0" ::"r"(MIE_MEIE));
        __asm__ volatile("csrs mie, %0" ::"r"(MIE_MTIE));
        __asm__ volatile("csrs mstatus, %0" ::"r"(MSTATUS_MIE));
        if (call->kind == JIT_CALL_EXEC) {
            int r = ((int (*)(void))(uintptr_t)call->entry)();
            call->ret = (uint64_t)(int64_t)r;
        } else {
            ((void (*)(uint64_t *, uint64_t *))(uintptr_t)call->entry)(call->args, &call->ret);
        }
        __asm__ volatile("csrc mstatus, %0" ::"r"(MSTATUS_MIE));
        s_in_call = 0;
        res->status = JIT_RUN_OK;
    }
    c1 = rdcycle64();
    t1 = mtime();
    timer_off();
    __asm__ volatile("csrc mie, %0" ::"r"(MIE_MTIE));
    __asm__ volatile("csrs mie, %0" ::"r"(MIE_MEIE));
    __asm__ volatile("fscsr zero"); /* JIT code may have changed the rounding mode */
    res->cycles = c1 - c0;
    res->time_us = (uint32_t)((t1 - t0) / (MTIME_HZ / 1000000u));
    output_flush();
}

static void __attribute__((noreturn)) board_reset(void)
{
    REG32(0x100000) = 0x7777; /* sifive_test: reset */
    for (;;) {
    }
}

void trap_c(uint32_t mcause, uint32_t mepc, uint32_t mtval, uint32_t sp)
{
    (void)sp;
    if (mcause & 0x80000000u) {
        if ((mcause & 0xffu) == 7 && s_in_call) { /* time limit of a JIT call */
            s_in_call = 0;
            timer_off();
            __asm__ volatile("csrc mstatus, %0" ::"r"(1u << 7)); /* MPIE */
            s_result->status = JIT_RUN_TIMEOUT;
            s_result->mepc = mepc;
            longjmp(s_recover, 1);
        }
        timer_off();
        return;
    }
    if (s_in_call) {
        s_in_call = 0;
        s_result->status = JIT_RUN_FAULT;
        s_result->mcause = mcause;
        s_result->mepc = mepc;
        s_result->mtval = mtval;
        s_last_fault = (jit_fault_record_t){1, mcause, mepc, mtval, s_entry};
        s_last_fault_magic = FAULT_MAGIC;
        longjmp(s_recover, 1);
    }
    /* the firmware itself faulted: keep the record, reset like a real chip would */
    s_last_fault = (jit_fault_record_t){1, mcause, mepc, mtval, 0};
    s_last_fault_magic = FAULT_MAGIC;
    board_reset();
}

/* ---- board facts ---- */

void jit_port_board_info(jit_board_info_t *info)
{
    info->cache_line = 0; /* QEMU models no cache */
    info->capabilities = JIT_CAP_FAULT_RECOVERY | JIT_CAP_EMULATOR | (s_opts.icount ? JIT_CAP_ICOUNT : 0);
    info->cpu_hz = s_opts.icount ? 1000000000u : 0; /* -icount shift=0: one instruction per ns */
    info->reset_reason = s_opts.reset_reason;
    memcpy(info->firmware_id, s_image_id, sizeof s_image_id);
    if (s_last_fault_magic == FAULT_MAGIC) {
        info->last_fault = s_last_fault;
    }
    strncpy(info->board, "qemu-virt", sizeof info->board);
}

void jit_port_random(uint8_t *buf, size_t len)
{
    /* mixes the free-running counters through SHA-256: unpredictable enough for nonces */
    static uint8_t pool[32];
    for (size_t off = 0; off < len; off += 32) {
        uint64_t seed[3] = {mtime(), rdcycle64(), off};
        uint8_t tmp[32 + sizeof seed];
        memcpy(tmp, pool, 32);
        memcpy(tmp + 32, seed, sizeof seed);
        jit_sha256(tmp, sizeof tmp, pool);
        memcpy(buf + off, pool, len - off < 32 ? len - off : 32);
    }
}

/* ---- main loop ---- */

int main(void)
{
    board_read_options(&s_opts);
    jit_sha256((const uint8_t *)__image_ro_start, (size_t)(__image_ro_end - __image_ro_start), s_image_id);
    if (s_last_fault_magic != FAULT_MAGIC) {
        memset(&s_last_fault, 0, sizeof s_last_fault);
    }
    jit_heap_init(&s_psram, (uint32_t)(uintptr_t)__psram_start, (uint8_t *)__psram_start,
                  (uint32_t)(uintptr_t)__psram_size, BOARD_PSRAM_CAPS);
    jit_heap_init(&s_internal, (uint32_t)(uintptr_t)__internal_start, (uint8_t *)__internal_start,
                  (uint32_t)(uintptr_t)__internal_size, BOARD_INTERNAL_CAPS);
    timer_off();
    uart_init();

    jit_core_config_t cfg = {
        .rx_buffer = s_rx_buffer,
        .max_payload = PAYLOAD_MAX,
        .table = s_table,
        .max_allocs = s_opts.max_allocs ? s_opts.max_allocs : MAX_ALLOCS,
        .max_alloc_bytes = s_opts.max_alloc_bytes,
        .default_call_ms = s_opts.default_call_ms,
        .max_call_ms = s_opts.max_call_ms,
        .interbyte_timeout_ms = 500,
        .auth_secret = s_opts.secret_len ? s_opts.secret : NULL,
        .auth_secret_len = s_opts.secret_len,
    };
    if (cfg.max_allocs > MAX_ALLOCS) {
        cfg.max_allocs = MAX_ALLOCS;
    }
    jit_core_init(&s_core, &cfg);

    static uint8_t buf[512];
    for (;;) {
        uint32_t irq = REG32(PLIC_CLAIM);
        size_t n = 0;
        while (n < sizeof buf && (REG8(UART_LSR) & 0x01)) {
            buf[n++] = REG8(UART_RBR);
        }
        if (irq != 0) {
            REG32(PLIC_CLAIM) = irq;
        }
        if (n > 0) {
            jit_core_feed(&s_core, buf, n);
            continue;
        }
        jit_core_tick(&s_core);
        if ((REG8(UART_LSR) & 0x01) == 0) {
            /* sleep until a byte comes; mid-frame, also wake to check the inter-byte time-out */
            if (s_core.state != JIT_PARSE_MAGIC0) {
                timer_at(mtime() + MTIME_HZ / 20);
                __asm__ volatile("csrs mie, %0" ::"r"(MIE_MTIE));
            }
            __asm__ volatile("wfi");
            uint32_t mip;
            __asm__ volatile("csrr %0, mip" : "=r"(mip));
            if (mip & MIP_MTIP) {
                timer_off();
            }
            __asm__ volatile("csrc mie, %0" ::"r"(MIE_MTIE));
        }
    }
}

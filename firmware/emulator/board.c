/*
 * The emulated ESP32-P4: the P4-JIT protocol core on QEMU riscv32 "virt" (RV32IMAFC, M-mode).
 * Link to the host: a virtio-serial port when the machine has one (fast), else the NS16550A UART
 * (both are a serial pty on the host, like a board's USB CDC port).
 * Heap: a PSRAM-like and an internal-like region answering ESP-IDF caps bits.
 * JIT calls run under fault and time-limit protection (run.c).
 */
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "jit_auth.h"
#include "jit_core.h"
#include "jit_heap.h"
#include "jit_protocol.h"

#define CLINT_MTIMECMP 0x02004000u
#define CLINT_MTIME 0x0200bff8u

#define PAYLOAD_MAX (1024u * 1024u)
#define MAX_ALLOCS 256u
#define GUARD_SIZE 32u /* bytes on each side of every allocation */

extern char __image_ro_start[], __image_ro_end[];
extern char __internal_start[], __internal_size[], __psram_start[], __psram_size[];
bool board_fault_record(jit_fault_record_t *out, bool *after_panic);

static uint8_t s_rx_buffer[PAYLOAD_MAX] __attribute__((aligned(16)));
static jit_alloc_entry_t s_table[MAX_ALLOCS];
static jit_core_t s_core;
static jit_heap_region_t s_psram, s_internal;
/* the heap's bookkeeping lives here, in firmware data, never next to the bytes JIT code uses */
static jit_heap_block_t s_psram_blocks[JIT_HEAP_BLOCKS_FOR(MAX_ALLOCS)];
static jit_heap_block_t s_internal_blocks[JIT_HEAP_BLOCKS_FOR(MAX_ALLOCS)];
static uint8_t s_image_id[32];
static board_options_t s_opts;
static const board_link_t *s_link;

/* ---- time ---- */

uint64_t board_mtime(void)
{
    uint32_t hi, lo;
    do {
        hi = REG32(CLINT_MTIME + 4);
        lo = REG32(CLINT_MTIME);
    } while (hi != REG32(CLINT_MTIME + 4));
    return ((uint64_t)hi << 32) | lo;
}

void board_timer_at(uint64_t when)
{
    /* Every compare write reprograms a QEMU timer (and may wake QEMU's main loop): when the high
       word stays (it changes every 7 minutes), one write of the low word moves it atomically. */
    if (REG32(CLINT_MTIMECMP + 4) == (uint32_t)(when >> 32)) {
        REG32(CLINT_MTIMECMP) = (uint32_t)when;
        return;
    }
    REG32(CLINT_MTIMECMP + 4) = 0xffffffffu;
    REG32(CLINT_MTIMECMP) = (uint32_t)when;
    REG32(CLINT_MTIMECMP + 4) = (uint32_t)(when >> 32);
}

void board_timer_off(void)
{
    /* an hour ahead rather than UINT64_MAX: with -icount, QEMU 7.2 turns a compare value that
       far out into a timer deadline that overflows and keeps an idle emulator busy (~20% CPU) */
    board_timer_at(board_mtime() + 3600ull * MTIME_HZ);
}

uint64_t board_rdcycle(void)
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
    return (uint32_t)(board_mtime() / (MTIME_HZ / 1000u));
}

/* ---- interrupts: they only wake wfi, mstatus.MIE stays off outside JIT calls ---- */

static uint32_t s_irq_enabled;

void board_irq_enable(uint32_t irq)
{
    s_irq_enabled |= 1u << irq;
    board_irq_restore();
}

void board_irq_restore(void)
{
    /* Only what routes the link's interrupts: the enable word masks every other source whatever
       its priority. Each register write is a trip into QEMU's device model, and this runs after
       every call. */
    for (uint32_t irq = 1; irq < 32; irq++) {
        if ((s_irq_enabled >> irq) & 1u) {
            REG32(PLIC_PRIORITY(irq)) = 1;
            /* JIT code may have claimed it and not completed it: until completed, the PLIC never
               raises it again and the idle loop would sleep through every request */
            REG32(PLIC_CLAIM) = irq;
        }
    }
    REG32(PLIC_ENABLE) = s_irq_enabled;
    REG32(PLIC_THRESHOLD) = 0;
}

void board_irq_clear(void)
{
    uint32_t irq;
    while ((irq = REG32(PLIC_CLAIM)) != 0) {
        REG32(PLIC_CLAIM) = irq;
    }
}

void board_wait_for_interrupt(void)
{
    uint32_t mie;
    __asm__ volatile("csrrs %0, mie, %1" : "=r"(mie) : "r"(MIE_MEIE));
    __asm__ volatile("wfi");
    board_irq_clear();
    __asm__ volatile("csrw mie, %0" ::"r"(mie));
}

/* ---- link ---- */

void jit_port_write(const uint8_t *data, size_t len)
{
    s_link->write(data, len);
}

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

/* ---- board facts ----
 * Cycle counts on QEMU 7.2 (rdcycle/mcycle, target/riscv/csr.c get_ticks()):
 *   without -icount: the host's time-stamp counter (cpu_get_host_ticks(), rdtsc on x86). Cycles
 *     are host ticks at the host's TSC rate (about 2.1 GHz here): they measure how long the
 *     emulation took, not the guest's work, and vary run to run (the first call of new code also
 *     pays for QEMU translating it). mtime (10 MHz) follows the host clock.
 *   with -icount shift=0: the instruction counter, one instruction per virtual ns: exact and
 *     repeatable (a loop of 2N+2 instructions reports 2N+2). mtime runs on the same virtual
 *     clock (100 instructions per tick), so time limits and time_us are virtual time too.
 * board_calibrate_cycles() (run.c) measures the counter against mtime at boot, so cpu_hz is the
 * counter's real rate either way, and sets ICOUNT only when the same instruction sequence counts
 * the same twice; it also subtracts the call trampoline's own instructions, so an empty
 * function reports 1 cycle (its ret) under -icount.
 */

void jit_port_board_info(jit_board_info_t *info)
{
    bool after_panic;
    bool icount = board_cycles_are_instructions();
    info->cache_line = 0; /* QEMU models no cache */
    info->capabilities = JIT_CAP_FAULT_RECOVERY | JIT_CAP_EMULATOR | (icount ? JIT_CAP_ICOUNT : 0);
    info->cpu_hz = board_cycle_hz();
    board_fault_record(&info->last_fault, &after_panic);
    info->reset_reason = after_panic ? BOARD_RESET_PANIC : s_opts.reset_reason;
    memcpy(info->firmware_id, s_image_id, sizeof s_image_id);
    strncpy(info->board, "qemu-virt", sizeof info->board);
}

void jit_port_random(uint8_t *buf, size_t len)
{
    /* mixes the free-running counters through SHA-256: unpredictable enough for nonces */
    static uint8_t pool[32];
    for (size_t off = 0; off < len; off += 32) {
        uint64_t seed[3] = {board_mtime(), board_rdcycle(), off};
        uint8_t tmp[32 + sizeof seed];
        memcpy(tmp, pool, 32);
        memcpy(tmp + 32, seed, sizeof seed);
        jit_sha256(tmp, sizeof tmp, pool);
        memcpy(buf + off, pool, len - off < 32 ? len - off : 32);
    }
}

/* ---- main loop ---- */

static void idle(void)
{
    /* mid-frame, also wake for the inter-byte time-out */
    bool mid_frame = s_core.state != JIT_PARSE_MAGIC0;
    if (mid_frame) {
        board_timer_at(board_mtime() + MTIME_HZ / 20);
        __asm__ volatile("csrs mie, %0" ::"r"(MIE_MTIE));
    }
    /* checked after the link acknowledged its interrupt: anything newer interrupts again */
    if (!s_link->pending()) {
        board_wait_for_interrupt();
    }
    if (mid_frame) {
        __asm__ volatile("csrc mie, %0" ::"r"(MIE_MTIE));
        board_timer_off();
    }
}

int main(void)
{
    bool after_panic;
    jit_fault_record_t fault;
    board_fault_record(&fault, &after_panic); /* reads .noinit before anything else */
    board_read_options(&s_opts);
    board_protect_memory();
    jit_sha256((const uint8_t *)__image_ro_start, (size_t)(__image_ro_end - __image_ro_start), s_image_id);
    jit_heap_init(&s_psram, (uint32_t)(uintptr_t)__psram_start, (uint8_t *)__psram_start,
                  (uint32_t)(uintptr_t)__psram_size, JIT_HEAP_P4_PSRAM_CAPS, s_psram_blocks,
                  JIT_HEAP_BLOCKS_FOR(MAX_ALLOCS));
    jit_heap_init(&s_internal, (uint32_t)(uintptr_t)__internal_start, (uint8_t *)__internal_start,
                  (uint32_t)(uintptr_t)__internal_size, JIT_HEAP_P4_INTERNAL_CAPS, s_internal_blocks,
                  JIT_HEAP_BLOCKS_FOR(MAX_ALLOCS));
    board_timer_off();
    __asm__ volatile("csrw mie, %0" ::"r"(MIE_MEIE));
    board_calibrate_cycles();
    if (board_virtio_init()) {
        s_link = &board_virtio_link;
        board_console_init();
    } else {
        board_uart_init();
        s_link = &board_uart_link;
    }

    jit_core_config_t cfg = {
        .rx_buffer = s_rx_buffer,
        .max_payload = PAYLOAD_MAX,
        .table = s_table,
        .max_allocs = s_opts.max_allocs ? s_opts.max_allocs : MAX_ALLOCS,
        .max_alloc_bytes = s_opts.max_alloc_bytes,
        .default_call_ms = s_opts.default_call_ms,
        .max_call_ms = s_opts.max_call_ms,
        .interbyte_timeout_ms = 500,
        .guard_size = GUARD_SIZE,
        .auth_secret = s_opts.secret_len ? s_opts.secret : NULL,
        .auth_secret_len = s_opts.secret_len,
    };
    if (cfg.max_allocs > MAX_ALLOCS) {
        cfg.max_allocs = MAX_ALLOCS;
    }
    jit_core_init(&s_core, &cfg);

    for (;;) {
        size_t n;
        const uint8_t *data = s_link->receive(&n);
        if (s_link->host_changed != NULL && s_link->host_changed()) {
            jit_core_host_changed(&s_core);
        }
        if (data != NULL) {
            jit_core_feed(&s_core, data, n);
            s_link->flush();
            continue;
        }
        jit_core_tick(&s_core);
        s_link->flush();
        idle();
    }
}

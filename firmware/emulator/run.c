/*
 * Running JIT code on the emulated ESP32-P4: time limit, fault recovery, cycle counts.
 *
 * A call goes through board_call_jit (start.S), which never returns: when the JIT function
 * returns, board_jit_returned() unwinds to the recovery point with longjmp; when it faults or
 * runs out of time, trap_c() does the same. So whatever the code did to sp, gp, tp or the
 * callee-saved registers is thrown away, and restore_machine() puts mstatus, mie, mtvec, fcsr
 * and the interrupt controller back. Memory the firmware depends on is guarded by locked PMP
 * entries (board_protect_memory): the null page, the firmware's code and constants (no writes),
 * and a page below the stack (overflow).
 */
#include <setjmp.h>
#include <string.h>

#include "board.h"
#include "jit_core.h"

extern char __image_ro_start[], __image_ro_end[], __stack_guard[];
extern void trap_entry(void);
void board_call_jit(uint32_t entry, void *arg0, void *arg1) __attribute__((noreturn));
void board_null_function(void);
void board_locks_reset(void);
void board_jit_returned(uint32_t a0) __attribute__((noreturn));
void trap_c(uint32_t mcause, uint32_t mepc, uint32_t mtval, uint32_t sp);

/* cycle counter just before the jump into JIT code and just after its return (start.S) */
volatile uint32_t board_call_stamps[4];

static jmp_buf s_recover;
static volatile bool s_in_call;
static volatile uint32_t s_trap_depth;
static jit_call_t *volatile s_call;
static jit_run_result_t *volatile s_result;
static volatile uint64_t s_t0, s_t1;

/* cycle counter facts, measured at boot */
static uint32_t s_cycle_hz;
static bool s_cycles_are_instructions;
static uint64_t s_call_overhead;

#define PMP_R 0x01u
#define PMP_X 0x04u
#define PMP_TOR 0x08u
#define PMP_NAPOT 0x18u
#define PMP_LOCK 0x80u

/* NAPOT address of a naturally aligned power-of-two region */
static uint32_t napot(uint32_t base, uint32_t size)
{
    return (base | (size / 2u - 1u)) >> 2;
}

void board_protect_memory(void)
{
    /* Locked entries bind M-mode too, and JIT code cannot undo them. QEMU 7.2 keeps them even
       across a machine reset, so they must not cover the boot ROM at 0x1000.
       0: the first 4 KiB (QEMU's debug area): null pointers fault, as on the P4
       1-2: firmware code and constants: read and execute, no writes (TOR over 1's address)
       3: 4 KiB below the stack: an overflow faults instead of overwriting firmware data */
    uint32_t a0 = napot(0, 0x1000u);
    uint32_t a1 = (uint32_t)(uintptr_t)__image_ro_start >> 2;
    uint32_t a2 = (uint32_t)(uintptr_t)__image_ro_end >> 2;
    uint32_t a3 = napot((uint32_t)(uintptr_t)__stack_guard, 4096u);
    uint32_t cfg = (PMP_NAPOT | PMP_LOCK) | (0u << 8) | ((PMP_TOR | PMP_R | PMP_X | PMP_LOCK) << 16) |
                   ((PMP_NAPOT | PMP_LOCK) << 24);
    __asm__ volatile("csrw pmpaddr0, %0" ::"r"(a0));
    __asm__ volatile("csrw pmpaddr1, %0" ::"r"(a1));
    __asm__ volatile("csrw pmpaddr2, %0" ::"r"(a2));
    __asm__ volatile("csrw pmpaddr3, %0" ::"r"(a3));
    __asm__ volatile("csrw pmpcfg0, %0" ::"r"(cfg));
}

/* Puts back the machine state JIT code may have changed. */
static void restore_machine(void)
{
    /* the time limit stays programmed: with MTIE off below it cannot interrupt, and the next
       call moves it (cheaper than moving it away now) */
    __asm__ volatile("csrc mstatus, %0" ::"r"(MSTATUS_MIE | MSTATUS_MPRV));
    __asm__ volatile("csrs mstatus, %0" ::"r"(MSTATUS_FS_INITIAL)); /* FPU on */
    __asm__ volatile("csrw mie, %0" ::"r"(MIE_MEIE));
    __asm__ volatile("csrw mtvec, %0" ::"r"(trap_entry));
    __asm__ volatile("fscsr zero"); /* rounding mode and flags */
    board_irq_restore();
    board_locks_reset();
}

static void __attribute__((noreturn)) end_call(jit_run_status_t status, uint32_t mcause, uint32_t mepc, uint32_t mtval)
{
    s_t1 = board_mtime();
    s_in_call = false;
    s_result->status = status;
    s_result->mcause = mcause;
    s_result->mepc = mepc;
    s_result->mtval = mtval;
    s_trap_depth = 0;
    longjmp(s_recover, 1);
}

void board_jit_returned(uint32_t a0)
{
    s_t1 = board_mtime();
    s_in_call = false;
    uint64_t c0 = ((uint64_t)board_call_stamps[1] << 32) | board_call_stamps[0];
    uint64_t c1 = ((uint64_t)board_call_stamps[3] << 32) | board_call_stamps[2];
    uint64_t cycles = c1 - c0;
    s_result->cycles = cycles > s_call_overhead ? cycles - s_call_overhead : 0;
    s_result->status = JIT_RUN_OK;
    if (s_call->kind == JIT_CALL_EXEC) {
        s_call->ret = (uint64_t)(int64_t)(int32_t)a0;
    }
    longjmp(s_recover, 1);
}

void jit_port_run(jit_call_t *call, jit_run_result_t *res)
{
    s_call = call;
    s_result = res;
    call->ret = 0;
    board_output_reset(call->output_to_host);
    s_t0 = board_mtime();
    if (setjmp(s_recover) == 0) {
        board_timer_at(s_t0 + (uint64_t)call->limit_ms * (MTIME_HZ / 1000u));
        s_in_call = true;
        /* only the time limit may interrupt JIT code */
        __asm__ volatile("csrw mie, %0" ::"r"(MIE_MTIE));
        __asm__ volatile("csrs mstatus, %0" ::"r"(MSTATUS_MIE));
        if (call->kind == JIT_CALL_EXEC) {
            board_call_jit(call->entry, NULL, NULL);
        } else {
            board_call_jit(call->entry, call->args, &call->ret);
        }
    }
    restore_machine();
    res->time_us = (uint32_t)((s_t1 - s_t0) / (MTIME_HZ / 1000000u));
    board_output_flush();
}

/* ---- traps ---- */

/* a fault of the firmware itself, kept across the reset it causes (.noinit is never loaded) */
static jit_fault_record_t s_last_fault __attribute__((section(".noinit")));
static uint32_t s_last_fault_magic __attribute__((section(".noinit")));
static uint32_t s_panic_magic __attribute__((section(".noinit")));
#define FAULT_MAGIC 0x46415554u
#define PANIC_MAGIC 0x50414e43u

static void __attribute__((noreturn)) board_reset(void)
{
    /* the record in .noinit must reach memory: nothing reads it before the reset, so without
       this barrier the compiler drops the stores */
    __asm__ volatile("fence rw, rw" ::: "memory");
    REG32(0x100000) = 0x7777; /* sifive_test: reset */
    for (;;) {
    }
}

void trap_c(uint32_t mcause, uint32_t mepc, uint32_t mtval, uint32_t sp)
{
    (void)sp;
    bool nested = s_trap_depth++ != 0;
    if (!nested && (mcause & 0x80000000u)) {
        uint32_t code = mcause & 0x1fu;
        if (code == 7 && s_in_call) {
            end_call(JIT_RUN_TIMEOUT, mcause, mepc, 0); /* the time limit */
        }
        /* any other interrupt was enabled by JIT code: mask it and resume */
        if (code == 7) {
            board_timer_off();
        } else {
            __asm__ volatile("csrc mie, %0" ::"r"(1u << code));
        }
        s_trap_depth--;
        return;
    }
    if (!nested && s_in_call) {
        s_last_fault = (jit_fault_record_t){1, mcause, mepc, mtval, s_call->entry};
        s_last_fault_magic = FAULT_MAGIC;
        end_call(JIT_RUN_FAULT, mcause, mepc, mtval);
    }
    /* the firmware itself faulted (or the trap handler did): keep the record, reset like a
       real chip would */
    s_last_fault = (jit_fault_record_t){1, mcause, mepc, mtval, 0};
    s_last_fault_magic = FAULT_MAGIC;
    s_panic_magic = PANIC_MAGIC;
    board_reset();
}

/** The last fault record (valid == 0 when none); true once per panic reset. */
bool board_fault_record(jit_fault_record_t *out, bool *after_panic)
{
    static bool checked, panic;
    if (!checked) {
        checked = true;
        panic = s_panic_magic == PANIC_MAGIC && s_last_fault_magic == FAULT_MAGIC;
        s_panic_magic = 0;
        if (s_last_fault_magic != FAULT_MAGIC) {
            memset(&s_last_fault, 0, sizeof s_last_fault);
        }
    }
    *after_panic = panic;
    if (s_last_fault_magic != FAULT_MAGIC) {
        return false;
    }
    *out = s_last_fault;
    return true;
}

/* ---- the cycle counter (what it counts in each QEMU mode: see board.c) ---- */

static uint64_t count_loop(void)
{
    uint64_t c0 = board_rdcycle();
    for (volatile int i = 0; i < 1000; i++) {
    }
    return board_rdcycle() - c0;
}

void board_calibrate_cycles(void)
{
    uint64_t a = count_loop(), b = count_loop();
    uint64_t t0 = board_mtime(), c0 = board_rdcycle(), t1;
    do {
        t1 = board_mtime();
    } while (t1 - t0 < MTIME_HZ / 200u); /* 5 ms */
    uint64_t c1 = board_rdcycle();
    uint64_t hz = (c1 - c0) * MTIME_HZ / (t1 - t0);
    s_cycles_are_instructions = a == b;
    if (s_cycles_are_instructions) {
        hz = (hz + 500000u) / 1000000u * 1000000u; /* exactly 1e9 unless the counter drifts */
    }
    s_cycle_hz = hz > UINT32_MAX ? UINT32_MAX : (uint32_t)hz;

    /* the cost of the call path itself: the smallest of a few empty calls */
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 5; i++) {
        jit_call_t call = {.kind = JIT_CALL_EXEC, .entry = (uint32_t)(uintptr_t)board_null_function, .limit_ms = 100};
        jit_run_result_t res = {0};
        jit_port_run(&call, &res);
        if (res.status == JIT_RUN_OK && res.cycles < best) {
            best = res.cycles;
        }
    }
    s_call_overhead = best != UINT64_MAX && best > 0 ? best - 1 : 0;
}

uint32_t board_cycle_hz(void)
{
    return s_cycle_hz;
}

bool board_cycles_are_instructions(void)
{
    return s_cycles_are_instructions;
}

/*
 * The C library as JIT code sees it: stdout goes to the host as OUTPUT frames (or to the
 * console, for a host that did not ask for them), and picolibc's
 * locks (taken by malloc, free, realloc) mask the time-limit interrupt, so a call stopped by its
 * time limit never leaves the firmware's malloc heap half-updated.
 */
#include <stdio.h>
#include <sys/lock.h>

#include "board.h"
#include "jit_core.h"

/* ---- stdout: printf from JIT code ---- */

static uint8_t s_out[256];
static size_t s_out_len;
static bool s_out_to_host;

static uint32_t irq_save(void)
{
    uint32_t mstatus;
    __asm__ volatile("csrrc %0, mstatus, %1" : "=r"(mstatus) : "r"(MSTATUS_MIE));
    return mstatus & MSTATUS_MIE;
}

static void irq_restore(uint32_t mie)
{
    __asm__ volatile("csrs mstatus, %0" ::"r"(mie));
}

void board_output_flush(void)
{
    /* a time-out must not cut a frame in half */
    uint32_t mie = irq_save();
    if (s_out_len > 0 && s_out_to_host) {
        jit_core_output(s_out, s_out_len);
    } else if (s_out_len > 0) {
        board_console_write(s_out, s_out_len);
    }
    s_out_len = 0;
    irq_restore(mie);
}

void board_output_reset(bool to_host)
{
    s_out_len = 0;
    s_out_to_host = to_host;
}

static int stdout_putc(char c, FILE *f)
{
    (void)f;
    uint32_t mie = irq_save();
    s_out[s_out_len++] = (uint8_t)c;
    irq_restore(mie);
    if (c == '\n' || s_out_len == sizeof s_out) {
        board_output_flush();
    }
    return (unsigned char)c;
}

static FILE s_stdout = FDEV_SETUP_STREAM(stdout_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &s_stdout;
FILE *const stderr = &s_stdout;

/* ---- picolibc's retargetable locks: one hart, so a lock is "no time-out while held" ---- */

struct __lock {
    int unused;
};
struct __lock __lock___libc_recursive_mutex;

static volatile uint32_t s_lock_depth;
static volatile uint32_t s_lock_mie;

static void lock_take(void)
{
    uint32_t mie = irq_save();
    if (s_lock_depth++ == 0) {
        s_lock_mie = mie;
    }
}

static void lock_give(void)
{
    if (s_lock_depth > 0 && --s_lock_depth == 0) {
        irq_restore(s_lock_mie);
    }
}

/** After a fault inside a locked section: the lock is gone with the call that held it. */
void board_locks_reset(void)
{
    s_lock_depth = 0;
    s_lock_mie = 0;
}

void __retarget_lock_init(_LOCK_T *lock)
{
    *lock = &__lock___libc_recursive_mutex;
}

void __retarget_lock_init_recursive(_LOCK_T *lock)
{
    *lock = &__lock___libc_recursive_mutex;
}

void __retarget_lock_close(_LOCK_T lock)
{
    (void)lock;
}

void __retarget_lock_close_recursive(_LOCK_T lock)
{
    (void)lock;
}

void __retarget_lock_acquire(_LOCK_T lock)
{
    (void)lock;
    lock_take();
}

void __retarget_lock_acquire_recursive(_LOCK_T lock)
{
    (void)lock;
    lock_take();
}

int __retarget_lock_try_acquire(_LOCK_T lock)
{
    (void)lock;
    lock_take();
    return 1;
}

int __retarget_lock_try_acquire_recursive(_LOCK_T lock)
{
    (void)lock;
    lock_take();
    return 1;
}

void __retarget_lock_release(_LOCK_T lock)
{
    (void)lock;
    lock_give();
}

void __retarget_lock_release_recursive(_LOCK_T lock)
{
    (void)lock;
    lock_give();
}

/*
 * The last panic, kept across the reset it causes, for INFO's last_fault.
 *
 * On the ESP32-P4 a fault in JIT code is a CPU exception like any other: ESP-IDF's panic handler
 * prints the Guru Meditation and resets the chip. The component's CMakeLists.txt wraps
 * esp_panic_handler (-Wl,--wrap, as ESP-IDF's own BT controller does), so every panic passes
 * through record_panic() first: mcause, mepc and mtval from the exception frame, and the entry
 * of the JIT call that was running on the panicking core (0 when the firmware itself panicked).
 * The record lives in RTC memory that no reset but power-on clears, guarded by a magic word and
 * a check word against the random contents RTC memory has after power-on.
 */
#include <string.h>

#include "esp_attr.h"
#include "esp_cpu.h"
#include "esp_system.h"
#include "p4_jit_private.h"
#include "sdkconfig.h"

#if CONFIG_P4_JIT_FAULT_RECORD
#include "esp_private/panic_internal.h"
#include "riscv/rvruntime-frames.h"
#endif

#define RECORD_MAGIC 0x4a495446u /* "FTIJ" */

typedef struct {
    uint32_t magic;
    jit_fault_record_t fault;
    uint32_t check;
} stored_fault_t;

static RTC_NOINIT_ATTR stored_fault_t s_stored;
static volatile uint32_t s_running_entry;
static volatile int s_running_core = -1;

/* inlined: the panic handler may run with the flash cache off */
FORCE_INLINE_ATTR uint32_t check_of(const stored_fault_t *s)
{
    const jit_fault_record_t *f = &s->fault;
    return ~(f->valid ^ f->mcause ^ (f->mepc << 1) ^ (f->mtval << 2) ^ (f->entry << 3) ^ s->magic);
}

void jit_fault_call_begin(uint32_t entry)
{
    s_running_core = esp_cpu_get_core_id();
    s_running_entry = entry;
}

void jit_fault_call_end(void)
{
    s_running_entry = 0;
    s_running_core = -1;
}

void jit_fault_last(jit_fault_record_t *out)
{
    memset(out, 0, sizeof *out);
    if (esp_reset_reason() == ESP_RST_POWERON) {
        return; /* RTC memory holds noise after power-on, whatever it looks like */
    }
    if (s_stored.magic == RECORD_MAGIC && s_stored.check == check_of(&s_stored) && s_stored.fault.valid == 1) {
        *out = s_stored.fault;
    }
}

#if CONFIG_P4_JIT_FAULT_RECORD

void __real_esp_panic_handler(panic_info_t *info);
void __wrap_esp_panic_handler(panic_info_t *info);

/* runs in the panic handler: IRAM, no locks, no logging, no stack-hungry calls */
void IRAM_ATTR __wrap_esp_panic_handler(panic_info_t *info)
{
    const RvExcFrame *frame = info != NULL ? (const RvExcFrame *)info->frame : NULL;
    if (frame != NULL) {
        s_stored.magic = RECORD_MAGIC;
        s_stored.fault.valid = 1;
        s_stored.fault.mcause = (uint32_t)frame->mcause;
        s_stored.fault.mepc = (uint32_t)frame->mepc;
        s_stored.fault.mtval = (uint32_t)frame->mtval;
        s_stored.fault.entry = (s_running_core == info->core) ? s_running_entry : 0;
        s_stored.check = check_of(&s_stored);
    }
    __real_esp_panic_handler(info);
}

#endif

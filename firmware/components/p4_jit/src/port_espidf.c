/*
 * The ESP-IDF board port of the P4-JIT protocol core (core/jit_port.h) and the protocol loop
 * that feeds the core from the USB transport.
 *
 * Memory: heap_caps_aligned_alloc() with the host's MALLOC_CAP_* bits. ESP-IDF registers PSRAM
 * without MALLOC_CAP_EXEC, although with CONFIG_ESP_SYSTEM_PMP_IDRAM_SPLIT=n the PMP lets the CPU
 * fetch from it: an EXEC request is served from PSRAM with that bit dropped. Executable blocks
 * are whole cache lines, so the instruction-side invalidation after a write never reaches a
 * neighbour's line.
 *
 * Calls run directly on the protocol task. A fault in JIT code panics and resets the chip as any
 * firmware fault would (jit_fault.c keeps a record of it); a time limit cannot stop running code
 * here: when it expires a warning is logged and the call runs on.
 */
#include <inttypes.h>
#include <string.h>

#include "esp_app_desc.h"
#include "esp_cache.h"
#include "esp_cpu.h"
#include "esp_heap_caps.h"
#include "esp_log.h"
#include "esp_memory_utils.h"
#include "esp_private/esp_cache_private.h"
#include "esp_private/esp_clk.h"
#include "esp_random.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "jit_protocol.h"
#include "p4_jit_private.h"
#include "sdkconfig.h"

static const char *TAG = "protocol";

/* ESP-IDF 6 renamed CONFIG_ESP_SYSTEM_PMP_IDRAM_SPLIT to CONFIG_ESP_SYSTEM_MEMPROT */
#if CONFIG_ESP_SYSTEM_PMP_IDRAM_SPLIT || CONFIG_ESP_SYSTEM_MEMPROT
#define EXEC_MEMORY_AVAILABLE 0 /* the PMP keeps heap memory from being executed */
#else
#define EXEC_MEMORY_AVAILABLE 1
#endif

static jit_core_t s_core;
static uint8_t s_rx_chunk[4096]; /* not on the task stack: that stack belongs to JIT code */
static uint32_t s_cpu_hz;
static size_t s_line_spiram, s_line_internal;
static esp_timer_handle_t s_limit_timer;
static volatile uint32_t s_call_entry, s_call_limit_ms;

void jit_port_write(const uint8_t *data, size_t len)
{
    usb_transport_write(data, len);
}

uint32_t jit_port_millis(void)
{
    return (uint32_t)(esp_timer_get_time() / 1000);
}

/* ---- memory ---- */

static size_t line_of(const void *p)
{
    return esp_ptr_external_ram(p) ? s_line_spiram : s_line_internal;
}

static void *alloc_with(uint32_t size, uint32_t idf_caps, uint32_t align, bool exec)
{
    if (exec) {
        size_t line = s_line_spiram > s_line_internal ? s_line_spiram : s_line_internal;
        if (line > align) {
            align = line;
        }
        if (size > UINT32_MAX - line) {
            return NULL;
        }
        size = (size + line - 1) & ~(line - 1);
    }
    return heap_caps_aligned_alloc(align, size, idf_caps);
}

/* caps are the host's MALLOC_CAP_* bits (jit_protocol.h names them: ESP-IDF 6 hides
 * MALLOC_CAP_EXEC when no heap is executable) */
uint32_t jit_port_alloc(uint32_t size, uint32_t caps, uint32_t align)
{
    bool exec = (caps & JIT_CAP_MALLOC_EXEC) != 0;
    void *p = NULL;
    if (exec && !EXEC_MEMORY_AVAILABLE) {
        ESP_LOGW(TAG, "executable memory needs CONFIG_ESP_SYSTEM_PMP_IDRAM_SPLIT=n");
        return 0;
    }
    /* like SPIRAM_USE_MALLOC: PSRAM first unless internal memory is asked for */
    if ((caps & JIT_CAP_MALLOC_INTERNAL) == 0) {
        p = alloc_with(size, (caps & ~JIT_CAP_MALLOC_EXEC) | MALLOC_CAP_SPIRAM, align, exec);
    }
    if (p == NULL && (caps & JIT_CAP_MALLOC_SPIRAM) == 0) {
        p = alloc_with(size, caps, align, exec);
    }
    return (uint32_t)(uintptr_t)p;
}

void jit_port_free(uint32_t addr)
{
    heap_caps_free((void *)(uintptr_t)addr);
}

void *jit_port_ptr(uint32_t addr)
{
    return (void *)(uintptr_t)addr;
}

void jit_port_heap_info(uint32_t *free_spiram, uint32_t *total_spiram, uint32_t *free_internal,
                        uint32_t *total_internal)
{
    *free_spiram = (uint32_t)heap_caps_get_free_size(MALLOC_CAP_SPIRAM);
    *total_spiram = (uint32_t)heap_caps_get_total_size(MALLOC_CAP_SPIRAM);
    *free_internal = (uint32_t)heap_caps_get_free_size(MALLOC_CAP_INTERNAL);
    *total_internal = (uint32_t)heap_caps_get_total_size(MALLOC_CAP_INTERNAL);
}

/*
 * Data: write the data cache back to memory (visible to DMA and to instruction fetch).
 * Code: then invalidate the lines so the next fetch reads memory. esp_cache_msync() requires
 * whole lines for an invalidation; they lie inside the block (see alloc_with). Memory outside
 * PSRAM and L2MEM (RTC RAM, TCM) is not cached: there only the pipeline needs fence.i.
 */
void jit_port_sync(uint32_t addr, uint32_t len, bool exec)
{
    void *p = jit_port_ptr(addr);
    esp_err_t err = ESP_OK;
    if (len > 0 && (esp_ptr_external_ram(p) || esp_ptr_in_dram(p))) {
        err = esp_cache_msync(p, len, ESP_CACHE_MSYNC_FLAG_DIR_C2M | ESP_CACHE_MSYNC_FLAG_UNALIGNED);
        if (err == ESP_OK && exec) {
            uint32_t line = (uint32_t)line_of(p);
            uint32_t start = addr & ~(line - 1);
            uint32_t end = (uint32_t)(((uint64_t)addr + len + line - 1) & ~(uint64_t)(line - 1));
            err = esp_cache_msync(jit_port_ptr(start), end - start,
                                  ESP_CACHE_MSYNC_FLAG_DIR_M2C | ESP_CACHE_MSYNC_FLAG_TYPE_INST);
        }
    }
    if (exec) {
        __asm__ volatile("fence.i" ::: "memory");
    }
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "Cache sync failed: 0x%x (0x%08" PRIx32 ", %" PRIu32 " bytes)", err, addr, len);
    }
}

/* ---- running JIT code ---- */

static void limit_expired(void *arg)
{
    (void)arg;
    ESP_LOGW(TAG,
             "call at 0x%08" PRIx32 " still running after its %" PRIu32 " ms limit; "
             "it cannot be stopped on this target",
             s_call_entry, s_call_limit_ms);
}

/*
 * The cycle counter is 32 bits wide and wraps every 2^32 / cpu_hz seconds (about 12 s at
 * 360 MHz). The wall-clock time tells how many wraps the low word missed.
 */
static uint64_t widen_cycles(uint32_t low, int64_t elapsed_us)
{
    uint64_t estimate = (uint64_t)elapsed_us * s_cpu_hz / 1000000u;
    if (estimate <= low) {
        return low;
    }
    uint64_t wraps = (estimate - low + (1ull << 31)) >> 32;
    return (wraps << 32) + low;
}

void jit_port_run(jit_call_t *call, jit_run_result_t *res)
{
    call->ret = 0;
    s_call_entry = call->entry;
    s_call_limit_ms = call->limit_ms;
    if (s_limit_timer != NULL) {
        esp_timer_start_once(s_limit_timer, (uint64_t)call->limit_ms * 1000u);
    }
    if (call->output_to_host) {
        jit_stdout_begin(); /* else printf goes to the console, as for the seed */
    }
    jit_fault_call_begin(call->entry);

    int64_t t0 = esp_timer_get_time();
    uint32_t c0 = (uint32_t)esp_cpu_get_cycle_count();
    if (call->kind == JIT_CALL_EXEC) {
        int r = ((int (*)(void))(uintptr_t)call->entry)();
        call->ret = (uint64_t)(int64_t)r;
    } else {
        ((void (*)(uint64_t *, uint64_t *))(uintptr_t)call->entry)(call->args, &call->ret);
    }
    uint32_t c1 = (uint32_t)esp_cpu_get_cycle_count();
    int64_t t1 = esp_timer_get_time();

    jit_fault_call_end();
    if (call->output_to_host) {
        jit_stdout_end();
    }
    if (s_limit_timer != NULL) {
        esp_timer_stop(s_limit_timer); /* ESP_ERR_INVALID_STATE once it fired: nothing to stop */
    }
    int64_t elapsed = t1 - t0;
    res->status = JIT_RUN_OK;
    res->cycles = widen_cycles(c1 - c0, elapsed);
    res->time_us = elapsed > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)elapsed;
}

/* ---- board facts ---- */

void jit_port_board_info(jit_board_info_t *info)
{
    static const char board[] = "esp32p4";
    _Static_assert(sizeof board <= sizeof info->board, "board name too long");
    info->cache_line = (uint32_t)(s_line_spiram > s_line_internal ? s_line_spiram : s_line_internal);
    info->capabilities = 0; /* a fault resets the chip; cycles are CPU cycles */
    info->cpu_hz = s_cpu_hz;
    info->reset_reason = (uint32_t)esp_reset_reason();
    memcpy(info->firmware_id, esp_app_get_description()->app_elf_sha256, sizeof info->firmware_id);
    jit_fault_last(&info->last_fault);
    memcpy(info->board, board, sizeof board);
}

void jit_port_random(uint8_t *buf, size_t len)
{
    esp_fill_random(buf, len);
}

/* ---- protocol loop ---- */

static void loop_begin(void)
{
    s_cpu_hz = (uint32_t)esp_clk_cpu_freq();
    if (esp_cache_get_alignment(MALLOC_CAP_SPIRAM, &s_line_spiram) != ESP_OK || s_line_spiram == 0) {
        s_line_spiram = 4; /* no cache to respect; keeps the rounding arithmetic valid */
    }
    if (esp_cache_get_alignment(MALLOC_CAP_INTERNAL, &s_line_internal) != ESP_OK || s_line_internal == 0) {
        s_line_internal = 4;
    }
    const esp_timer_create_args_t timer_args = {
        .callback = limit_expired,
        .dispatch_method = ESP_TIMER_TASK,
        .name = "jit_limit",
    };
    if (esp_timer_create(&timer_args, &s_limit_timer) != ESP_OK) {
        s_limit_timer = NULL; /* only the warning is lost */
    }
    if (jit_stdout_init() != ESP_OK) {
        ESP_LOGW(TAG, "printf of JIT code goes to the console, not to the host");
    }
    if (!EXEC_MEMORY_AVAILABLE) {
        ESP_LOGW(TAG, "CONFIG_ESP_SYSTEM_PMP_IDRAM_SPLIT=y: executable allocations will fail");
    }
}

static void loop_end(void)
{
    jit_stdout_deinit();
    if (s_limit_timer != NULL) {
        esp_timer_stop(s_limit_timer);
        esp_timer_delete(s_limit_timer);
        s_limit_timer = NULL;
    }
}

void jit_protocol_serve(const jit_core_config_t *cfg, const volatile bool *stop)
{
    /* wake at least twice per inter-byte timeout to abandon stalled frames (jit_core_tick) */
    TickType_t poll = pdMS_TO_TICKS(cfg->interbyte_timeout_ms / 4);
    if (poll == 0) {
        poll = 1;
    }
    jit_core_init(&s_core, cfg);
    loop_begin();
    ESP_LOGI(TAG, "Protocol loop started");

    /* stop only between frames: never with a request half received */
    while (!(*stop && s_core.state == JIT_PARSE_MAGIC0)) {
        size_t n = usb_transport_read(s_rx_chunk, sizeof s_rx_chunk, poll);
        if (usb_transport_host_changed()) {
            jit_core_host_changed(&s_core); /* the new host authenticates afresh */
        }
        if (n > 0) {
            jit_core_feed(&s_core, s_rx_chunk, n);
        } else {
            jit_core_tick(&s_core);
        }
    }

    uint32_t live = s_core.alloc_count;
    jit_core_release_all(&s_core);
    loop_end();
    ESP_LOGI(TAG, "Protocol loop stopped (%" PRIu32 " allocations released, %" PRIu32 " frames served)", live,
             s_core.frames_ok);
}

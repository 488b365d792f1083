/*
 * Start and stop of the P4-JIT engine and its protocol task.
 *
 * p4_jit_start() allocates the payload buffer and the allocation table, installs the USB
 * transport and creates the task; the task owns all of it from then on. p4_jit_stop() raises a
 * flag; the task notices it between frames, releases the host's allocations, its buffers and the
 * transport, marks the engine stopped and ends. s_lock guards the state and the task handle.
 */
#include <inttypes.h>
#include <string.h>

#include "esp_check.h"
#include "esp_cpu.h"
#include "esp_heap_caps.h"
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "p4_jit.h"
#include "p4_jit_private.h"
#include "sdkconfig.h"

static const char *TAG = "p4_jit";

#ifdef CONFIG_P4_JIT_AUTH_SECRET
#define AUTH_SECRET CONFIG_P4_JIT_AUTH_SECRET
#else
#define AUTH_SECRET "" /* a Kconfig tool may leave an empty string option undefined */
#endif

/* payloads smaller than this could not carry CALL's 32 argument slots or an AUTH_RESPONSE */
#define MIN_PAYLOAD_BYTES 1024u

typedef enum { ENGINE_STOPPED, ENGINE_RUNNING, ENGINE_STOPPING } engine_state_t;

static portMUX_TYPE s_lock = portMUX_INITIALIZER_UNLOCKED;
static engine_state_t s_state = ENGINE_STOPPED;
static volatile bool s_stop_requested;
static TaskHandle_t s_task;

/* what the task owns while it runs */
static jit_core_config_t s_core_cfg;

static void release_buffers(void)
{
    heap_caps_free(s_core_cfg.rx_buffer);
    heap_caps_free(s_core_cfg.table);
    s_core_cfg.rx_buffer = NULL;
    s_core_cfg.table = NULL;
}

static void jit_task(void *arg)
{
    (void)arg;
    ESP_LOGI(TAG, "JIT Task started on Core %d", esp_cpu_get_core_id());
    jit_protocol_serve(&s_core_cfg, &s_stop_requested);

    usb_transport_deinit();
    release_buffers();
    ESP_LOGI(TAG, "JIT engine stopped");

    portENTER_CRITICAL(&s_lock);
    s_state = ENGINE_STOPPED;
    s_task = NULL;
    portEXIT_CRITICAL(&s_lock);
    vTaskDelete(NULL);
}

static esp_err_t resolve_config(const p4_jit_config_t *in, p4_jit_config_t *out)
{
    const p4_jit_config_t defaults = P4_JIT_CONFIG_DEFAULT();
    *out = in ? *in : defaults;
    if (out->stack_size == 0) {
        out->stack_size = defaults.stack_size;
    }
    if (out->rx_buffer_size == 0) {
        out->rx_buffer_size = defaults.rx_buffer_size;
    }
    ESP_RETURN_ON_FALSE(out->task_priority >= 0 && out->task_priority < configMAX_PRIORITIES, ESP_ERR_INVALID_ARG, TAG,
                        "task_priority %d out of range", out->task_priority);
    ESP_RETURN_ON_FALSE(out->task_core_id >= -1 && out->task_core_id < portNUM_PROCESSORS, ESP_ERR_INVALID_ARG, TAG,
                        "task_core_id %d out of range", out->task_core_id);
    ESP_RETURN_ON_FALSE(out->stack_size >= 4096, ESP_ERR_INVALID_ARG, TAG, "stack_size below 4096");
    ESP_RETURN_ON_FALSE(out->rx_buffer_size >= MIN_PAYLOAD_BYTES, ESP_ERR_INVALID_ARG, TAG, "rx_buffer_size below %u",
                        MIN_PAYLOAD_BYTES);
    return ESP_OK;
}

/* The core's settings from Kconfig, with the buffers it works in. */
static esp_err_t prepare_core_config(uint32_t max_payload)
{
    static const char secret[] = AUTH_SECRET;
    memset(&s_core_cfg, 0, sizeof s_core_cfg);
    /* a megabyte does not fit the internal RAM next to an application: PSRAM first */
    s_core_cfg.rx_buffer =
        heap_caps_malloc_prefer(max_payload, 2, MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT, MALLOC_CAP_DEFAULT);
    s_core_cfg.table =
        heap_caps_calloc(CONFIG_P4_JIT_MAX_ALLOCS, sizeof(jit_alloc_entry_t), MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    if (s_core_cfg.rx_buffer == NULL || s_core_cfg.table == NULL) {
        release_buffers();
        ESP_LOGE(TAG, "no memory for a %" PRIu32 "-byte payload buffer", max_payload);
        return ESP_ERR_NO_MEM;
    }
    s_core_cfg.max_payload = max_payload;
    s_core_cfg.max_allocs = CONFIG_P4_JIT_MAX_ALLOCS;
    s_core_cfg.max_alloc_bytes = CONFIG_P4_JIT_MAX_ALLOC_BYTES;
    s_core_cfg.default_call_ms = CONFIG_P4_JIT_DEFAULT_CALL_MS;
    s_core_cfg.max_call_ms = CONFIG_P4_JIT_MAX_CALL_MS;
    if (s_core_cfg.default_call_ms > s_core_cfg.max_call_ms) {
        s_core_cfg.default_call_ms = s_core_cfg.max_call_ms;
    }
    s_core_cfg.interbyte_timeout_ms = CONFIG_P4_JIT_INTERBYTE_TIMEOUT_MS;
    s_core_cfg.guard_size = CONFIG_P4_JIT_GUARD_SIZE;
    if (sizeof secret > 1) {
        s_core_cfg.auth_secret = (const uint8_t *)secret;
        s_core_cfg.auth_secret_len = sizeof secret - 1;
    }
    return ESP_OK;
}

esp_err_t p4_jit_start(const p4_jit_config_t *config)
{
    p4_jit_config_t cfg;
    esp_err_t ret = ESP_OK;

    portENTER_CRITICAL(&s_lock);
    bool idle = (s_state == ENGINE_STOPPED);
    if (idle) {
        s_state = ENGINE_RUNNING; /* claimed: a concurrent start gets INVALID_STATE */
        s_stop_requested = false;
    }
    portEXIT_CRITICAL(&s_lock);
    ESP_RETURN_ON_FALSE(idle, ESP_ERR_INVALID_STATE, TAG, "JIT engine already running");

    ESP_GOTO_ON_ERROR(resolve_config(config, &cfg), err, TAG, "invalid configuration");
    ESP_GOTO_ON_ERROR(prepare_core_config(cfg.rx_buffer_size), err, TAG, "cannot allocate buffers");

    ESP_LOGI(TAG, "Initializing USB Transport...");
    ESP_GOTO_ON_ERROR(usb_transport_init(CONFIG_P4_JIT_STREAM_BUFFER_SIZE), err_buffers, TAG, "USB transport failed");
    ESP_LOGI(TAG, "USB Initialized");

    ESP_LOGI(TAG, "Starting JIT Task (Prio:%d, Core:%d, Stack:%d)", cfg.task_priority, cfg.task_core_id,
             (int)cfg.stack_size);
    BaseType_t core = cfg.task_core_id < 0 ? tskNO_AFFINITY : cfg.task_core_id;
    BaseType_t created = xTaskCreatePinnedToCore(jit_task, "jit_task", cfg.stack_size, NULL,
                                                 (UBaseType_t)cfg.task_priority, &s_task, core);
    ESP_GOTO_ON_FALSE(created == pdPASS, ESP_FAIL, err_transport, TAG, "cannot create the JIT task");
    return ESP_OK;

err_transport:
    usb_transport_deinit();
err_buffers:
    release_buffers();
err:
    portENTER_CRITICAL(&s_lock);
    s_state = ENGINE_STOPPED;
    portEXIT_CRITICAL(&s_lock);
    return ret;
}

esp_err_t p4_jit_stop(void)
{
    portENTER_CRITICAL(&s_lock);
    engine_state_t state = s_state;
    TaskHandle_t task = s_task;
    if (state == ENGINE_RUNNING) {
        s_state = ENGINE_STOPPING;
    }
    if (state != ENGINE_STOPPED) {
        s_stop_requested = true;
    }
    portEXIT_CRITICAL(&s_lock);
    ESP_RETURN_ON_FALSE(state != ENGINE_STOPPED, ESP_ERR_INVALID_STATE, TAG, "JIT engine not running");

    if (task == xTaskGetCurrentTaskHandle()) {
        return ESP_OK; /* JIT code stopping its own engine: the task ends after this call */
    }
    if (task != NULL) {
        usb_transport_cancel_writes();
    }
    /* the task stops between frames: at worst after the inter-byte timeout, or when a call returns */
    const TickType_t poll = pdMS_TO_TICKS(10) ? pdMS_TO_TICKS(10) : 1;
    for (uint32_t waited_ms = 0; waited_ms < CONFIG_P4_JIT_INTERBYTE_TIMEOUT_MS + 2000; waited_ms += 10) {
        vTaskDelay(poll);
        portENTER_CRITICAL(&s_lock);
        state = s_state;
        portEXIT_CRITICAL(&s_lock);
        if (state == ENGINE_STOPPED) {
            return ESP_OK;
        }
    }
    ESP_LOGW(TAG, "JIT code still running; the engine stops when it returns");
    return ESP_ERR_TIMEOUT;
}

/*
 * P4-JIT: load native RISC-V code sent by a host over USB (TinyUSB CDC-ACM) and run it on the
 * ESP32-P4. The engine runs in its own FreeRTOS task; the wire protocol is docs/protocol.md.
 */
#pragma once

#include <stdint.h>

#include "esp_err.h"
#include "sdkconfig.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Settings of the JIT engine's task and buffers.
 *
 * A field left at 0 where 0 is not a meaningful value (stack_size, rx_buffer_size) takes the
 * Kconfig default; start from P4_JIT_CONFIG_DEFAULT() to get every default.
 */
typedef struct {
    int task_priority;       /*!< FreeRTOS priority of the protocol task (0 .. configMAX_PRIORITIES-1) */
    int task_core_id;        /*!< core the task is pinned to: 0, 1, or -1 for no affinity */
    uint32_t stack_size;     /*!< task stack in bytes (JIT code runs on it too); 0: Kconfig default */
    uint32_t rx_buffer_size; /*!< largest frame payload the device accepts (bytes); 0: Kconfig default */
    uint32_t tx_buffer_size; /*!< unused: replies are streamed from memory without a copy; keep 0 */
} p4_jit_config_t;

/** @brief Every field from Kconfig (menuconfig → P4-JIT Configuration). */
/* clang-format off */
#define P4_JIT_CONFIG_DEFAULT() {                       \
    .task_priority = CONFIG_P4_JIT_TASK_PRIORITY,       \
    .task_core_id = CONFIG_P4_JIT_TASK_CORE_ID,         \
    .stack_size = CONFIG_P4_JIT_TASK_STACK_SIZE,        \
    .rx_buffer_size = CONFIG_P4_JIT_PAYLOAD_BUFFER_SIZE, \
    .tx_buffer_size = 0,                                \
}
/* clang-format on */

/**
 * @brief Start the JIT engine: install the USB CDC-ACM transport and spawn the protocol task.
 *
 * Returns as soon as the task is created; the host can connect from then on.
 *
 * @param config Task and buffer settings, or NULL for the Kconfig defaults.
 *
 * @return
 *      - ESP_OK on success
 *      - ESP_ERR_INVALID_STATE if the engine is already running (or still stopping)
 *      - ESP_ERR_INVALID_ARG if a field of config is out of range
 *      - ESP_ERR_NO_MEM if the payload buffer or the allocation table cannot be allocated
 *      - ESP_FAIL if the task cannot be created
 *      - an error of the USB stack (tinyusb_driver_install, tinyusb_cdcacm_init) otherwise
 */
esp_err_t p4_jit_start(const p4_jit_config_t *config);

/**
 * @brief Stop the JIT engine and release everything it holds.
 *
 * The protocol task finishes the frame it is receiving or running, frees every allocation the
 * host made, its buffers and the USB transport, and ends. p4_jit_start() works again afterwards.
 * Called from JIT code (that is, from the protocol task itself), it only requests the stop,
 * which happens once the running call has returned.
 *
 * @return
 *      - ESP_OK once the engine has stopped (or the stop was requested from the protocol task)
 *      - ESP_ERR_INVALID_STATE if the engine is not running
 *      - ESP_ERR_TIMEOUT if JIT code is still running after the wait; the stop stays requested
 *        and completes when the call returns (call p4_jit_stop() again to wait for it)
 */
esp_err_t p4_jit_stop(void);

#ifdef __cplusplus
}
#endif

#include <stdio.h>
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "esp_log.h"
#include "p4_jit.h"

static const char *TAG = "main";

void app_main(void)
{
    ESP_LOGI(TAG, "Starting Application with P4-JIT");

    // Initialize JIT engine (runs in background)
    ESP_ERROR_CHECK(p4_jit_start(NULL));

    ESP_LOGI(TAG, "JIT Engine ready. Connect via USB.");

    // Main application loop
    while (1) {
        // Your application logic here
        ESP_LOGI(TAG, "Main app running...");
        vTaskDelay(pdMS_TO_TICKS(5000));
    }
}

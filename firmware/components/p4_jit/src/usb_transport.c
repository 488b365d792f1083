/*
 * USB transport of the JIT engine: TinyUSB CDC-ACM (esp_tinyusb 2.x) on the ESP32-P4's
 * high-speed port.
 *
 * Receive: TinyUSB's task calls on_cdc_rx() when a packet arrived. pull_from_usb() moves bytes
 * from TinyUSB's FIFO into the stream buffer, but only as many as fit. What does not fit stays
 * in TinyUSB's FIFO; TinyUSB re-arms the OUT endpoint only when its FIFO has room, so the host is
 * NAKed (held back) instead of bytes being dropped. Because TinyUSB calls back only when a new
 * packet arrives, the protocol task pulls the held-back bytes itself after it has drained room
 * (usb_transport_read()). s_rx_lock makes the two callers take turns: a stream buffer allows
 * one writer at a time.
 *
 * Transmit: tinyusb_cdcacm_write_queue() takes what fits in TinyUSB's TX FIFO; the rest waits
 * until TinyUSB reports a finished IN transfer (tud_cdc_tx_complete_cb).
 *
 * Host changes: a host opening or closing the port changes DTR, and unplugging the cable
 * detaches the device (TinyUSB clears the line state then without a DTR callback). Both raise
 * s_host_changes for the protocol task, which makes the core forget the old host.
 */
#include <inttypes.h>

#include "esp_check.h"
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/stream_buffer.h"
#include "p4_jit_private.h"
#include "tinyusb.h"
#include "tinyusb_cdc_acm.h"
#include "tinyusb_default_config.h"

static const char *TAG = "p4_jit";

#define CDC_PORT TINYUSB_CDC_ACM_0
#define TX_WAIT_MS 20 /* how often a blocked writer re-checks that the host is still there */

static StreamBufferHandle_t s_rx_stream;
static SemaphoreHandle_t s_rx_lock;
static SemaphoreHandle_t s_tx_done;  /* given after every finished IN transfer */
static volatile bool s_rx_held_back; /* TinyUSB's FIFO may still hold bytes that did not fit */
static volatile bool s_closing;
static volatile bool s_tx_cancelled; /* the engine is stopping: a blocked writer gives up */
/* host changes counted by TinyUSB's task (the only writer), compared by the protocol task: a
   counter, so that a change arriving while the last one is being taken is never lost */
static volatile uint32_t s_host_changes;
static uint32_t s_host_changes_seen; /* protocol task only */
static bool s_dtr;                   /* TinyUSB's task only */
static uint8_t s_rx_chunk[512];      /* used under s_rx_lock only */
static uint32_t s_tx_discarded;      /* bytes written while no host had the port open */

static void pull_from_usb(void)
{
    if (s_closing) {
        return;
    }
    xSemaphoreTake(s_rx_lock, portMAX_DELAY);
    bool full = false;
    while (!s_closing) {
        size_t room = xStreamBufferSpacesAvailable(s_rx_stream);
        if (room == 0) {
            full = true;
            break;
        }
        size_t want = room < sizeof s_rx_chunk ? room : sizeof s_rx_chunk;
        size_t got = 0;
        if (tinyusb_cdcacm_read(CDC_PORT, s_rx_chunk, want, &got) != ESP_OK || got == 0) {
            break;
        }
        xStreamBufferSend(s_rx_stream, s_rx_chunk, got, 0); /* fits: we are the only writer */
        if (got < want) {
            break; /* TinyUSB's FIFO is empty */
        }
    }
    s_rx_held_back = full;
    xSemaphoreGive(s_rx_lock);
}

static void on_cdc_rx(int itf, cdcacm_event_t *event)
{
    (void)itf;
    (void)event;
    pull_from_usb();
}

/* DTR up (a host opened the port) or down (it closed it): a new host either way. Requests that
   leave DTR as it was (RTS only, a driver repeating the line state) change nothing. */
static void on_line_state(int itf, cdcacm_event_t *event)
{
    (void)itf;
    bool dtr = event->line_state_changed_data.dtr;
    if (dtr != s_dtr) {
        s_dtr = dtr;
        s_host_changes++;
    }
}

static void on_usb_event(tinyusb_event_t *event, void *arg)
{
    (void)arg;
    if (event->id == TINYUSB_EVENT_DETACHED) {
        s_dtr = false; /* TinyUSB clears the line state without a callback */
        s_host_changes++;
    }
}

bool usb_transport_host_changed(void)
{
    uint32_t now = s_host_changes;
    bool changed = now != s_host_changes_seen;
    s_host_changes_seen = now;
    return changed;
}

/* TinyUSB's weak callback, called from its task when an IN transfer to the host finished */
void tud_cdc_tx_complete_cb(uint8_t itf)
{
    (void)itf;
    SemaphoreHandle_t done = s_tx_done;
    if (done != NULL) {
        xSemaphoreGive(done);
    }
}

static void delete_objects(void)
{
    if (s_rx_stream != NULL) {
        vStreamBufferDelete(s_rx_stream);
        s_rx_stream = NULL;
    }
    if (s_rx_lock != NULL) {
        vSemaphoreDelete(s_rx_lock);
        s_rx_lock = NULL;
    }
    if (s_tx_done != NULL) {
        SemaphoreHandle_t done = s_tx_done;
        s_tx_done = NULL;
        vSemaphoreDelete(done);
    }
}

esp_err_t usb_transport_init(size_t stream_buffer_size)
{
    esp_err_t ret = ESP_OK;
    s_closing = false;
    s_tx_cancelled = false;
    s_rx_held_back = false;
    s_host_changes = 0;
    s_host_changes_seen = 0;
    s_dtr = false;
    s_tx_discarded = 0;

    s_rx_stream = xStreamBufferCreate(stream_buffer_size, 1);
    s_rx_lock = xSemaphoreCreateMutex();
    s_tx_done = xSemaphoreCreateBinary();
    ESP_GOTO_ON_FALSE(s_rx_stream && s_rx_lock && s_tx_done, ESP_ERR_NO_MEM, err, TAG,
                      "no memory for the %u-byte stream buffer", (unsigned)stream_buffer_size);
    ESP_LOGI(TAG, "Stream buffer created");

    const tinyusb_config_t usb_cfg = TINYUSB_DEFAULT_CONFIG(on_usb_event);
    ESP_GOTO_ON_ERROR(tinyusb_driver_install(&usb_cfg), err, TAG, "TinyUSB driver install failed");
    ESP_LOGI(TAG, "TinyUSB driver installed");

    const tinyusb_config_cdcacm_t acm_cfg = {
        .cdc_port = CDC_PORT,
        .callback_rx = on_cdc_rx,
        .callback_line_state_changed = on_line_state,
    };
    ESP_GOTO_ON_ERROR(tinyusb_cdcacm_init(&acm_cfg), err_driver, TAG, "CDC-ACM init failed");
    return ESP_OK;

err_driver:
    tinyusb_driver_uninstall();
err:
    delete_objects();
    return ret;
}

void usb_transport_deinit(void)
{
    /* after this no callback touches the stream buffer: a running pull finishes first */
    s_closing = true;
    xSemaphoreTake(s_rx_lock, portMAX_DELAY);
    tinyusb_cdcacm_unregister_callback(CDC_PORT, CDC_EVENT_RX);
    if (tinyusb_cdcacm_deinit(CDC_PORT) != ESP_OK) {
        ESP_LOGW(TAG, "CDC-ACM deinit failed");
    }
    if (tinyusb_driver_uninstall() != ESP_OK) {
        ESP_LOGW(TAG, "TinyUSB driver uninstall failed");
    }
    xSemaphoreGive(s_rx_lock);
    if (s_tx_discarded != 0) {
        ESP_LOGW(TAG, "%" PRIu32 " reply bytes found no host to take them", s_tx_discarded);
    }
    delete_objects();
}

void usb_transport_cancel_writes(void)
{
    s_tx_cancelled = true;
}

size_t usb_transport_read(uint8_t *buf, size_t max, TickType_t wait)
{
    size_t n = xStreamBufferReceive(s_rx_stream, buf, max, wait);
    if (s_rx_held_back) {
        pull_from_usb(); /* there is room now: take what TinyUSB held back */
    }
    return n;
}

/*
 * Blocks until TinyUSB has taken every byte, for as long as a host has the port open (DTR set).
 * With no host there is nobody to deliver to and waiting would hang the engine (and p4_jit_stop):
 * the rest of the reply is discarded and counted. The host sees no reply and times out. The same
 * happens once usb_transport_cancel_writes() was called, so that a host which keeps the port open
 * but stopped reading cannot keep the engine from stopping.
 */
void usb_transport_write(const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t queued = tinyusb_cdcacm_write_queue(CDC_PORT, data, len);
        data += queued;
        len -= queued;
        if (len == 0) {
            break;
        }
        if (!tud_cdc_n_connected(CDC_PORT) || s_tx_cancelled) {
            s_tx_discarded += (uint32_t)len;
            return;
        }
        /* the TX FIFO is full: start a transfer, and wait for one to finish if that made no room */
        xSemaphoreTake(s_tx_done, 0);
        tinyusb_cdcacm_write_flush(CDC_PORT, 0);
        if (tud_cdc_n_write_available(CDC_PORT) == 0) {
            xSemaphoreTake(s_tx_done, pdMS_TO_TICKS(TX_WAIT_MS));
        }
    }
    /* the tail goes out now; TinyUSB keeps sending the FIFO after each finished transfer */
    tinyusb_cdcacm_write_flush(CDC_PORT, 0);
}

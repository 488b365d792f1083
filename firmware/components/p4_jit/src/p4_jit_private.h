/* Internal interfaces between the files of the p4_jit component (not part of its API). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "freertos/FreeRTOS.h"
#include "jit_core.h"

/* ---- usb_transport.c: TinyUSB CDC-ACM with a stream buffer towards the protocol task ---- */

/** Install TinyUSB and the CDC-ACM port; stream_buffer_size bytes buffer the received data. */
esp_err_t usb_transport_init(size_t stream_buffer_size);
/** Release the port, the USB stack and the stream buffer. */
void usb_transport_deinit(void);
/** Up to max received bytes, waiting at most wait ticks for the first one. */
size_t usb_transport_read(uint8_t *buf, size_t max, TickType_t wait);
/** Send every byte, waiting for the host while it has the port open; see the file for the rest. */
void usb_transport_write(const uint8_t *data, size_t len);
/** True once after a host opened or closed the port or the cable was unplugged. */
bool usb_transport_host_changed(void);
/** A writer blocked on a host that does not read gives up (the engine is stopping). */
void usb_transport_cancel_writes(void);

/* ---- port_espidf.c: the protocol loop on top of the core ---- */

/**
 * Serve the host until *stop is set, then return at the next frame boundary after releasing
 * every live allocation. Runs in the protocol task.
 */
void jit_protocol_serve(const jit_core_config_t *cfg, const volatile bool *stop);

/* ---- jit_stdout.c: stdout of JIT code becomes OUTPUT frames ---- */

esp_err_t jit_stdout_init(void);
void jit_stdout_deinit(void);
/** From now until jit_stdout_end(), what the calling task prints goes to the host. */
void jit_stdout_begin(void);
void jit_stdout_end(void);

/* ---- jit_fault.c: last panic, kept in RTC memory across the reset ---- */

/** A JIT call at entry starts on the calling core (a panic meanwhile is attributed to it). */
void jit_fault_call_begin(uint32_t entry);
void jit_fault_call_end(void);
/** The record of the last panic, or valid = 0. */
void jit_fault_last(jit_fault_record_t *out);

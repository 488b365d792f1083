/*
 * What JIT code prints reaches the host as OUTPUT frames (jit_core_output), while the call runs
 * and before its reply. Bytes are collected per line (or 256 bytes) to keep frames few.
 *
 * Newlib (CONFIG_LIBC_NEWLIB): stdout and stderr are per task (struct _reent), so during a call
 * the protocol task's own stdout/stderr point at a funopen() stream; other tasks are untouched.
 *
 * Picolibc (CONFIG_LIBC_PICOLIBC): stdout is one global stream for all tasks. During a call its
 * put function is replaced by capture_put(), which keeps the protocol task's characters and hands
 * every other task's characters to the original put function. (A picolibc stdout switched to
 * full buffering with setvbuf() lets fwrite() bypass put; ESP-IDF's stdout is line buffered.)
 */
#include <stdio.h>
#include <string.h>

#include "esp_err.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "p4_jit_private.h"
#include "sdkconfig.h"

static uint8_t s_line[256];
static size_t s_line_len;
static volatile TaskHandle_t s_owner; /* the task whose output is captured, NULL when none */
static bool s_sending;                /* set while a frame goes out: output printed meanwhile passes */

static void send_line(void)
{
    if (s_line_len > 0) {
        s_sending = true;
        jit_core_output(s_line, s_line_len);
        s_sending = false;
        s_line_len = 0;
    }
}

static void keep_byte(uint8_t c)
{
    s_line[s_line_len++] = c;
    if (c == '\n' || s_line_len == sizeof s_line) {
        send_line();
    }
}

static bool capturing_here(void)
{
    return s_owner != NULL && s_owner == xTaskGetCurrentTaskHandle() && !s_sending;
}

#if CONFIG_LIBC_NEWLIB

static FILE *s_stream;
static FILE *s_saved_out, *s_saved_err;

static int stream_write(void *cookie, const char *buf, _READ_WRITE_BUFSIZE_TYPE n)
{
    (void)cookie;
    if (!capturing_here()) {
        return (int)fwrite(buf, 1, (size_t)n, s_saved_out); /* printed while a frame goes out */
    }
    for (_READ_WRITE_BUFSIZE_TYPE i = 0; i < n; i++) {
        keep_byte((uint8_t)buf[i]);
    }
    return (int)n;
}

esp_err_t jit_stdout_init(void)
{
    s_stream = funopen(NULL, NULL, stream_write, NULL, NULL);
    if (s_stream == NULL) {
        return ESP_ERR_NO_MEM;
    }
    setvbuf(s_stream, NULL, _IONBF, 0); /* our line buffer is enough */
    return ESP_OK;
}

void jit_stdout_deinit(void)
{
    if (s_stream != NULL) {
        fclose(s_stream);
        s_stream = NULL;
    }
}

void jit_stdout_begin(void)
{
    if (s_stream == NULL) {
        return;
    }
    fflush(stdout); /* what the task printed before belongs to the console */
    s_line_len = 0;
    s_owner = xTaskGetCurrentTaskHandle();
    s_saved_out = stdout;
    s_saved_err = stderr;
    stdout = s_stream; /* _REENT->_stdout: this task's stream only */
    stderr = s_stream;
}

void jit_stdout_end(void)
{
    if (s_stream == NULL) {
        return;
    }
    fflush(s_stream);
    stdout = s_saved_out;
    stderr = s_saved_err;
    send_line();
    s_owner = NULL;
}

#else /* picolibc */

static FILE *s_hooked[2]; /* stdout, and stderr when it is another stream */
static int (*s_saved_put[2])(char, FILE *);

static int capture_put(char c, FILE *f)
{
    if (capturing_here()) {
        keep_byte((uint8_t)c);
        return (unsigned char)c;
    }
    int (*put)(char, FILE *) = (f == s_hooked[1]) ? s_saved_put[1] : s_saved_put[0];
    return put(c, f);
}

esp_err_t jit_stdout_init(void)
{
    return ESP_OK;
}

void jit_stdout_deinit(void)
{
}

void jit_stdout_begin(void)
{
    fflush(stdout);
    fflush(stderr);
    s_line_len = 0;
    s_hooked[0] = stdout;
    s_hooked[1] = (stderr != stdout) ? stderr : NULL;
    for (int i = 0; i < 2; i++) {
        if (s_hooked[i] != NULL) {
            s_saved_put[i] = s_hooked[i]->put;
        }
    }
    s_owner = xTaskGetCurrentTaskHandle();
    for (int i = 0; i < 2; i++) {
        if (s_hooked[i] != NULL) {
            s_hooked[i]->put = capture_put;
        }
    }
}

void jit_stdout_end(void)
{
    for (int i = 0; i < 2; i++) {
        if (s_hooked[i] != NULL) {
            s_hooked[i]->put = s_saved_put[i];
        }
    }
    send_line();
    s_owner = NULL;
}

#endif

/*
 * The host link over the NS16550A UART of QEMU "virt" (a serial pty on the host). Slow (about
 * 0.3 MB/s: QEMU moves one byte per emulated character time), kept as the fallback link.
 * When the link is the virtio port, the UART is the board's console instead (like a P4's UART0):
 * what JIT code prints for a host that did not ask for OUTPUT frames goes there.
 */
#include "board.h"

#define UART 0x10000000u
#define UART_RBR (UART + 0)
#define UART_THR (UART + 0)
#define UART_IER (UART + 1)
#define UART_FCR (UART + 2)
#define UART_LCR (UART + 3)
#define UART_LSR (UART + 5)
#define UART_IRQ 10u

#define LSR_DATA_READY 0x01u
#define LSR_THR_EMPTY 0x20u

static bool s_console; /* the UART is the console, not the link */

static void uart_setup(void)
{
    REG8(UART_LCR) = 0x80; /* divisor latch: 115200 baud from 1.8432 MHz */
    REG8(UART + 0) = 1;
    REG8(UART + 1) = 0;
    REG8(UART_LCR) = 0x03; /* 8N1 */
    REG8(UART_FCR) = 0xc7; /* FIFO on, cleared, receive trigger at 14 bytes (trigger 1 is 10x slower) */
    (void)REG8(UART_RBR);  /* QEMU stops feeding the guest after an FCR write until RBR is read */
}

void board_uart_init(void)
{
    uart_setup();
    REG8(UART_IER) = 0x01; /* receive-data interrupt (also fires on the FIFO character time-out) */
    board_irq_enable(UART_IRQ);
}

static const uint8_t *uart_receive(size_t *len)
{
    static uint8_t buf[512];
    size_t n = 0;
    while (n < sizeof buf && (REG8(UART_LSR) & LSR_DATA_READY)) {
        buf[n++] = REG8(UART_RBR);
    }
    *len = n;
    return n ? buf : NULL;
}

static bool uart_pending(void)
{
    return (REG8(UART_LSR) & LSR_DATA_READY) != 0;
}

static void uart_write(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while ((REG8(UART_LSR) & LSR_THR_EMPTY) == 0) {
        }
        REG8(UART_THR) = data[i];
    }
}

static void uart_flush(void)
{
}

void board_console_init(void)
{
    uart_setup();
    s_console = true;
}

void board_console_write(const uint8_t *data, size_t len)
{
    if (s_console) {
        uart_write(data, len); /* with no console attached QEMU discards the bytes */
    }
}

const board_link_t board_uart_link = {
    .name = "uart",
    .receive = uart_receive,
    .pending = uart_pending,
    .write = uart_write,
    .flush = uart_flush,
};

/*
 * The host link over a virtio-serial port (virtio-mmio on QEMU "virt"): the fast link.
 *
 * QEMU side (extension/emulator/qemu-args.ts):
 *   -device virtio-serial-device,max_ports=2 -chardev pty,id=p4jit
 *   -device virtserialport,chardev=p4jit,nr=1,name=p4jit
 * A virtserialport (not a virtconsole) because QEMU throttles a serial port when the host is slow
 * to read, while it silently drops console bytes the pty cannot take at once. Serial ports need
 * the MULTIPORT protocol: control queues 2/3 and, for port 1, data queues 4 (rx) and 5 (tx).
 *
 * Speed comes from large buffers: QEMU moves up to 4 KiB per pty read into a receive buffer and
 * one virtqueue notification sends a whole 16 KiB transmit buffer.
 * Both the legacy (version 1, QEMU's default) and the modern (version 2) register layouts work:
 * the rings are laid out so that either can use them.
 */
#include <string.h>

#include "board.h"

#define MMIO_BASE 0x10001000u
#define MMIO_STRIDE 0x1000u
#define MMIO_SLOTS 8u
#define MMIO_IRQ0 1u /* slot n raises PLIC interrupt 1 + n */

#define R_MAGIC 0x000u
#define R_VERSION 0x004u
#define R_DEVICE_ID 0x008u
#define R_DEVICE_FEATURES 0x010u
#define R_DEVICE_FEATURES_SEL 0x014u
#define R_DRIVER_FEATURES 0x020u
#define R_DRIVER_FEATURES_SEL 0x024u
#define R_GUEST_PAGE_SIZE 0x028u
#define R_QUEUE_SEL 0x030u
#define R_QUEUE_NUM_MAX 0x034u
#define R_QUEUE_NUM 0x038u
#define R_QUEUE_ALIGN 0x03cu
#define R_QUEUE_PFN 0x040u
#define R_QUEUE_READY 0x044u
#define R_QUEUE_NOTIFY 0x050u
#define R_INTERRUPT_STATUS 0x060u
#define R_INTERRUPT_ACK 0x064u
#define R_STATUS 0x070u
#define R_QUEUE_DESC_LOW 0x080u
#define R_QUEUE_DESC_HIGH 0x084u
#define R_QUEUE_DRIVER_LOW 0x090u
#define R_QUEUE_DRIVER_HIGH 0x094u
#define R_QUEUE_DEVICE_LOW 0x0a0u
#define R_QUEUE_DEVICE_HIGH 0x0a4u

#define MAGIC_VIRT 0x74726976u
#define DEVICE_CONSOLE 3u
#define S_ACKNOWLEDGE 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define F_MULTIPORT (1u << 1) /* feature word 0 */
#define F_VERSION_1 (1u << 0) /* feature word 1 (bit 32) */
#define DESC_WRITE 2u         /* the device writes this buffer */

/* multiport control messages */
#define CTRL_DEVICE_READY 0u
#define CTRL_PORT_ADD 1u
#define CTRL_PORT_READY 3u
#define CTRL_PORT_OPEN 6u

#define PORT_ID 1u /* the launcher's virtserialport nr */
#define Q_CTRL_RX 2u
#define Q_CTRL_TX 3u
#define Q_PORT_RX (2u * PORT_ID + 2u)
#define Q_PORT_TX (2u * PORT_ID + 3u)

#define RX_BUFS 64u
#define RX_BUF_SIZE 4096u /* QEMU reads the pty 4 KiB at a time */
#define TX_BUFS 4u
#define TX_BUF_SIZE 16384u
#define CTRL_BUFS 8u
#define CTRL_BUF_SIZE 64u /* a PORT_NAME message carries the name */

typedef struct {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} vring_desc_t;

typedef struct {
    uint32_t id;
    uint32_t len;
} vring_used_t;

/* A split virtqueue: descriptors at the start of its memory, the available ring right after,
   the used ring at +4096 (legacy QueueAlign). Descriptor i always describes buffer i. */
typedef struct {
    uint32_t index;
    uint16_t num;
    uint16_t next_avail;
    uint16_t last_used;
    volatile vring_desc_t *desc;
    volatile uint16_t *avail;    /* flags, idx, ring[num] */
    volatile uint16_t *used_hdr; /* flags, idx */
    volatile vring_used_t *used;
} vq_t;

static uint8_t s_ring_mem[4][8192] __attribute__((aligned(4096)));
static uint8_t s_rx_bufs[RX_BUFS][RX_BUF_SIZE] __attribute__((aligned(16)));
static uint8_t s_tx_bufs[TX_BUFS][TX_BUF_SIZE] __attribute__((aligned(16)));
static uint8_t s_ctrl_rx[CTRL_BUFS][CTRL_BUF_SIZE];
static uint8_t s_ctrl_tx[CTRL_BUFS][8];

static uint32_t s_base;
static bool s_legacy;
static vq_t s_crx, s_ctx, s_rx, s_tx;
static int s_rx_held = -1;      /* buffer handed to the caller, recycled on the next receive */
static bool s_tx_busy[TX_BUFS]; /* owned by the device until it shows up in the used ring */
static bool s_ctx_busy[CTRL_BUFS];
static uint32_t s_tx_cur, s_tx_len, s_ctx_next;
static bool s_port_ready;
static bool s_host_changed; /* a host opened or closed the pty (PORT_OPEN from QEMU) */

#define MMIO(r) REG32(s_base + (r))

static void barrier(void)
{
    __asm__ volatile("fence rw, rw" ::: "memory");
}

static bool vq_setup(vq_t *q, uint32_t index, uint16_t num, uint8_t *mem)
{
    MMIO(R_QUEUE_SEL) = index;
    uint32_t max = MMIO(R_QUEUE_NUM_MAX);
    if (max < num) {
        return false;
    }
    memset(mem, 0, 8192);
    q->index = index;
    q->num = num;
    q->next_avail = 0;
    q->last_used = 0;
    q->desc = (volatile vring_desc_t *)mem;
    q->avail = (volatile uint16_t *)(mem + 16u * num);
    q->used_hdr = (volatile uint16_t *)(mem + 4096);
    q->used = (volatile vring_used_t *)(mem + 4096 + 4);
    MMIO(R_QUEUE_NUM) = num;
    if (s_legacy) {
        MMIO(R_QUEUE_ALIGN) = 4096;
        MMIO(R_QUEUE_PFN) = (uint32_t)(uintptr_t)mem >> 12;
    } else {
        MMIO(R_QUEUE_DESC_LOW) = (uint32_t)(uintptr_t)q->desc;
        MMIO(R_QUEUE_DESC_HIGH) = 0;
        MMIO(R_QUEUE_DRIVER_LOW) = (uint32_t)(uintptr_t)q->avail;
        MMIO(R_QUEUE_DRIVER_HIGH) = 0;
        MMIO(R_QUEUE_DEVICE_LOW) = (uint32_t)(uintptr_t)q->used_hdr;
        MMIO(R_QUEUE_DEVICE_HIGH) = 0;
        MMIO(R_QUEUE_READY) = 1;
    }
    return true;
}

/* Makes buffer id (len bytes at addr) available to the device; the caller notifies. */
static void vq_post(vq_t *q, uint16_t id, const void *addr, uint32_t len, uint16_t flags)
{
    q->desc[id].addr = (uint32_t)(uintptr_t)addr;
    q->desc[id].len = len;
    q->desc[id].flags = flags;
    q->desc[id].next = 0;
    q->avail[2 + q->next_avail % q->num] = id;
    barrier(); /* the device must see the entry before the index that publishes it */
    q->avail[1] = ++q->next_avail;
    barrier();
}

static void vq_notify(const vq_t *q)
{
    MMIO(R_QUEUE_NOTIFY) = q->index;
}

static bool vq_has_used(const vq_t *q)
{
    return q->used_hdr[1] != q->last_used;
}

static bool vq_take_used(vq_t *q, uint32_t *id, uint32_t *len)
{
    if (!vq_has_used(q)) {
        return false;
    }
    barrier();
    volatile vring_used_t *e = &q->used[q->last_used % q->num];
    *id = e->id;
    *len = e->len;
    q->last_used++;
    return true;
}

static void ack_interrupt(void)
{
    uint32_t status = MMIO(R_INTERRUPT_STATUS);
    if (status != 0) {
        MMIO(R_INTERRUPT_ACK) = status;
    }
}

static void reclaim_ctrl_tx(void)
{
    uint32_t id, len;
    while (vq_take_used(&s_ctx, &id, &len)) {
        if (id < CTRL_BUFS) {
            s_ctx_busy[id] = false;
        }
    }
}

static void send_control(uint32_t port, uint16_t event, uint16_t value)
{
    uint32_t slot = s_ctx_next;
    s_ctx_next = (s_ctx_next + 1) % CTRL_BUFS;
    while (s_ctx_busy[slot]) {
        ack_interrupt();
        reclaim_ctrl_tx();
        if (s_ctx_busy[slot]) {
            board_wait_for_interrupt();
        }
    }
    uint8_t *m = s_ctrl_tx[slot];
    memcpy(m, &port, 4);
    memcpy(m + 4, &event, 2);
    memcpy(m + 6, &value, 2);
    s_ctx_busy[slot] = true;
    vq_post(&s_ctx, (uint16_t)slot, m, 8, 0);
    vq_notify(&s_ctx);
}

/* Answers the device's control messages: the port handshake, host open/close notices. */
static void service_control(void)
{
    uint32_t id, len;
    bool reposted = false;
    reclaim_ctrl_tx();
    while (vq_take_used(&s_crx, &id, &len)) {
        if (id >= CTRL_BUFS) {
            continue;
        }
        uint32_t port;
        uint16_t event;
        memcpy(&port, s_ctrl_rx[id], 4);
        memcpy(&event, s_ctrl_rx[id] + 4, 2);
        if (len >= 8 && port == PORT_ID && event == CTRL_PORT_ADD) {
            send_control(PORT_ID, CTRL_PORT_READY, 1);
            send_control(PORT_ID, CTRL_PORT_OPEN, 1); /* the firmware is always listening */
            s_port_ready = true;
        }
        if (len >= 8 && port == PORT_ID && (event == CTRL_PORT_ADD || event == CTRL_PORT_OPEN)) {
            /* QEMU stops polling the pty while the port is closed and only looks again when
               something wakes its main loop: a notification on the receive queue, now that
               both ends are open, does (else a host that opened the pty before the firmware
               finished its handshake would never be read) */
            vq_notify(&s_rx);
        }
        if (len >= 8 && port == PORT_ID && event == CTRL_PORT_OPEN) {
            /* QEMU notices a host opening the pty (and announces it) before it reads a byte
               from it: the new host's first frame is served after the core has forgotten the
               old host. While nobody listens, QEMU discards what we send. */
            s_host_changed = true;
        }
        vq_post(&s_crx, (uint16_t)id, s_ctrl_rx[id], CTRL_BUF_SIZE, DESC_WRITE);
        reposted = true;
    }
    if (reposted) {
        vq_notify(&s_crx);
    }
}

static const uint8_t *virtio_receive(size_t *len)
{
    uint32_t id, n;
    if (s_rx_held >= 0) {
        vq_post(&s_rx, (uint16_t)s_rx_held, s_rx_bufs[s_rx_held], RX_BUF_SIZE, DESC_WRITE);
        vq_notify(&s_rx); /* QEMU stops reading the pty while no buffer is free */
        s_rx_held = -1;
    }
    ack_interrupt(); /* before looking at the rings: whatever comes later interrupts again */
    service_control();
    while (vq_take_used(&s_rx, &id, &n)) {
        if (id >= RX_BUFS) {
            continue;
        }
        if (n == 0) {
            vq_post(&s_rx, (uint16_t)id, s_rx_bufs[id], RX_BUF_SIZE, DESC_WRITE);
            vq_notify(&s_rx);
            continue;
        }
        s_rx_held = (int)id;
        *len = n;
        return s_rx_bufs[id];
    }
    *len = 0;
    return NULL;
}

static bool virtio_pending(void)
{
    return vq_has_used(&s_rx) || vq_has_used(&s_crx);
}

static void reclaim_tx(void)
{
    uint32_t id, len;
    while (vq_take_used(&s_tx, &id, &len)) {
        if (id < TX_BUFS) {
            s_tx_busy[id] = false;
        }
    }
}

static void virtio_flush(void)
{
    if (s_tx_len == 0) {
        return;
    }
    s_tx_busy[s_tx_cur] = true;
    vq_post(&s_tx, (uint16_t)s_tx_cur, s_tx_bufs[s_tx_cur], s_tx_len, 0);
    vq_notify(&s_tx); /* QEMU writes to the pty right here unless the host is slow to read */
    s_tx_cur = (s_tx_cur + 1) % TX_BUFS;
    s_tx_len = 0;
    reclaim_tx();
}

static void virtio_write(const uint8_t *data, size_t len)
{
    while (len > 0) {
        /* wait (back-pressure) until the device gave the next buffer back */
        while (s_tx_len == 0 && s_tx_busy[s_tx_cur]) {
            ack_interrupt();
            reclaim_tx();
            if (s_tx_busy[s_tx_cur]) {
                board_wait_for_interrupt();
            }
        }
        size_t n = TX_BUF_SIZE - s_tx_len;
        if (n > len) {
            n = len;
        }
        memcpy(&s_tx_bufs[s_tx_cur][s_tx_len], data, n);
        s_tx_len += (uint32_t)n;
        data += n;
        len -= n;
        if (s_tx_len == TX_BUF_SIZE) {
            virtio_flush();
        }
    }
}

static uint32_t find_console(void)
{
    for (uint32_t i = 0; i < MMIO_SLOTS; i++) {
        uint32_t base = MMIO_BASE + i * MMIO_STRIDE;
        if (REG32(base + R_MAGIC) == MAGIC_VIRT && REG32(base + R_DEVICE_ID) == DEVICE_CONSOLE) {
            return base;
        }
    }
    return 0;
}

bool board_virtio_init(void)
{
    s_base = find_console();
    if (s_base == 0) {
        return false;
    }
    s_legacy = MMIO(R_VERSION) == 1;
    MMIO(R_STATUS) = 0; /* reset */
    MMIO(R_STATUS) = S_ACKNOWLEDGE;
    MMIO(R_STATUS) = S_ACKNOWLEDGE | S_DRIVER;
    MMIO(R_DEVICE_FEATURES_SEL) = 0;
    if ((MMIO(R_DEVICE_FEATURES) & F_MULTIPORT) == 0) {
        MMIO(R_STATUS) = 0;
        return false; /* max_ports=1: only a console on port 0, which may drop bytes */
    }
    MMIO(R_DRIVER_FEATURES_SEL) = 0;
    MMIO(R_DRIVER_FEATURES) = F_MULTIPORT;
    uint32_t status = S_ACKNOWLEDGE | S_DRIVER;
    if (s_legacy) {
        MMIO(R_GUEST_PAGE_SIZE) = 4096;
    } else {
        MMIO(R_DRIVER_FEATURES_SEL) = 1;
        MMIO(R_DRIVER_FEATURES) = F_VERSION_1;
        status |= S_FEATURES_OK;
        MMIO(R_STATUS) = status;
        if ((MMIO(R_STATUS) & S_FEATURES_OK) == 0) {
            MMIO(R_STATUS) = 0;
            return false;
        }
    }
    if (!vq_setup(&s_crx, Q_CTRL_RX, CTRL_BUFS, s_ring_mem[0]) ||
        !vq_setup(&s_ctx, Q_CTRL_TX, CTRL_BUFS, s_ring_mem[1]) || !vq_setup(&s_rx, Q_PORT_RX, RX_BUFS, s_ring_mem[2]) ||
        !vq_setup(&s_tx, Q_PORT_TX, TX_BUFS, s_ring_mem[3])) {
        MMIO(R_STATUS) = 0;
        return false;
    }
    for (uint16_t i = 0; i < CTRL_BUFS; i++) {
        vq_post(&s_crx, i, s_ctrl_rx[i], CTRL_BUF_SIZE, DESC_WRITE);
    }
    for (uint16_t i = 0; i < RX_BUFS; i++) {
        vq_post(&s_rx, i, s_rx_bufs[i], RX_BUF_SIZE, DESC_WRITE);
    }
    MMIO(R_STATUS) = status | S_DRIVER_OK;
    vq_notify(&s_crx);
    vq_notify(&s_rx);
    board_irq_enable(MMIO_IRQ0 + (s_base - MMIO_BASE) / MMIO_STRIDE);

    /* QEMU answers the handshake while it handles our notifications: a few rounds settle it */
    send_control(0, CTRL_DEVICE_READY, 1);
    for (int i = 0; i < 100 && !s_port_ready; i++) {
        ack_interrupt();
        service_control();
    }
    if (!s_port_ready) {
        MMIO(R_STATUS) = 0;
        return false; /* no serial port at nr 1 */
    }
    return true;
}

static bool virtio_host_changed(void)
{
    bool changed = s_host_changed;
    s_host_changed = false;
    return changed;
}

const board_link_t board_virtio_link = {
    .name = "virtio",
    .receive = virtio_receive,
    .pending = virtio_pending,
    .write = virtio_write,
    .flush = virtio_flush,
    .host_changed = virtio_host_changed,
};

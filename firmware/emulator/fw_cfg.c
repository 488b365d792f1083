/*
 * Emulator options from QEMU's fw_cfg device (MMIO on "virt"): the launcher passes
 * -fw_cfg name=opt/p4jit/<option>,string=<value>. Missing options keep their defaults.
 */
#include <string.h>

#include "board.h"

#define FW_CFG 0x10100000u
#define FW_CFG_DATA (*(volatile uint8_t *)(uintptr_t)(FW_CFG + 0))
#define FW_CFG_SELECT (*(volatile uint16_t *)(uintptr_t)(FW_CFG + 8))
#define FW_CFG_SIGNATURE 0x0000u
#define FW_CFG_FILE_DIR 0x0019u

static void select_item(uint16_t key)
{
    FW_CFG_SELECT = (uint16_t)((key >> 8) | (key << 8)); /* the MMIO selector is big-endian */
}

static uint32_t read_be32(void)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        v = (v << 8) | FW_CFG_DATA;
    }
    return v;
}

/* reads the file named name into buf (NUL-terminated); returns its length or -1 */
static int read_file(const char *name, char *buf, uint32_t cap)
{
    select_item(FW_CFG_FILE_DIR);
    uint32_t count = read_be32();
    for (uint32_t i = 0; i < count && i < 1024; i++) {
        char fname[56];
        uint32_t size = read_be32();
        uint16_t key = (uint16_t)(FW_CFG_DATA << 8);
        key |= FW_CFG_DATA;
        (void)FW_CFG_DATA;
        (void)FW_CFG_DATA;
        for (int k = 0; k < 56; k++) {
            fname[k] = (char)FW_CFG_DATA;
        }
        fname[55] = 0;
        if (strcmp(fname, name) == 0) {
            uint32_t n = size < cap - 1 ? size : cap - 1;
            select_item(key);
            for (uint32_t k = 0; k < n; k++) {
                buf[k] = (char)FW_CFG_DATA;
            }
            buf[n] = 0;
            return (int)n;
        }
    }
    return -1;
}

static void read_u32(const char *name, uint32_t *out)
{
    char buf[16];
    if (read_file(name, buf, sizeof buf) > 0) {
        uint32_t v = 0;
        for (const char *p = buf; *p >= '0' && *p <= '9'; p++) {
            v = v * 10u + (uint32_t)(*p - '0');
        }
        *out = v;
    }
}

void board_read_options(board_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->default_call_ms = 2000;
    o->max_call_ms = 600000;
    o->reset_reason = 1; /* power-on */
    select_item(FW_CFG_SIGNATURE);
    if (FW_CFG_DATA != 'Q') {
        return; /* no fw_cfg device: defaults */
    }
    read_u32("opt/p4jit/icount", &o->icount);
    read_u32("opt/p4jit/max_allocs", &o->max_allocs);
    read_u32("opt/p4jit/max_alloc_bytes", &o->max_alloc_bytes);
    read_u32("opt/p4jit/default_call_ms", &o->default_call_ms);
    read_u32("opt/p4jit/max_call_ms", &o->max_call_ms);
    int n = read_file("opt/p4jit/secret", (char *)o->secret, sizeof o->secret);
    o->secret_len = n > 0 ? (uint32_t)n : 0;
}

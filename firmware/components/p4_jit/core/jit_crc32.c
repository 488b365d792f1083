/*
 * Table-driven CRC-32, four bytes per step ("slicing by 4"): the CRC runs over every byte of a
 * sealed upload, so it has to keep up with the link. The 4 KiB table is built at the first call
 * (the core calls it once from jit_core_init, before any other thread can).
 */
#include "jit_crc32.h"

#include <stdbool.h>

static uint32_t s_table[4][256];
static bool s_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        }
        s_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 4; t++) {
            s_table[t][i] = (s_table[t - 1][i] >> 8) ^ s_table[0][s_table[t - 1][i] & 0xffu];
        }
    }
    s_ready = true;
}

uint32_t jit_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (!s_ready) {
        build_table();
    }
    crc = ~crc;
    while (len >= 4) {
        crc ^= (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
        crc = s_table[3][crc & 0xffu] ^ s_table[2][(crc >> 8) & 0xffu] ^ s_table[1][(crc >> 16) & 0xffu] ^
              s_table[0][crc >> 24];
        p += 4;
        len -= 4;
    }
    while (len-- > 0) {
        crc = (crc >> 8) ^ s_table[0][(crc ^ *p++) & 0xffu];
    }
    return ~crc;
}

/* CRC-32 of the SEALED frames (docs/protocol.md). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/**
 * CRC-32 as IEEE 802.3 and zlib's crc32() define it (reflected polynomial 0xEDB88320, initial
 * value and final XOR 0xFFFFFFFF). Start with crc = 0; continue with the previous result.
 */
uint32_t jit_crc32(uint32_t crc, const void *data, size_t len);

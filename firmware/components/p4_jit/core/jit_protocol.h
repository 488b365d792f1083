/*
 * P4-JIT wire protocol: frame layout, command ids, error codes and INFO layout.
 * The single source of these numbers for the firmware; docs/protocol.md documents them and the
 * host codec (extension/protocol/) mirrors them. Seed commands are byte-exact with P4-JIT v1.
 */
#pragma once

#include <stdint.h>

#define JIT_MAGIC0 0xA5u
#define JIT_MAGIC1 0x5Au
#define JIT_HEADER_SIZE 8u
#define JIT_CHECKSUM_SIZE 2u

#define JIT_PROTOCOL_VERSION 2u

/* flags */
#define JIT_FLAG_REQUEST 0x00u
#define JIT_FLAG_OK 0x01u
#define JIT_FLAG_ERROR 0x02u

/* command ids: seed (v1) */
#define JIT_CMD_PING 0x01u
#define JIT_CMD_ALLOC 0x10u
#define JIT_CMD_FREE 0x11u
#define JIT_CMD_WRITE_MEM 0x20u
#define JIT_CMD_READ_MEM 0x21u
#define JIT_CMD_EXEC 0x30u
#define JIT_CMD_HEAP_INFO 0x40u
/* command ids: extensions */
#define JIT_CMD_INFO 0x02u
#define JIT_CMD_FEATURES 0x03u /* the host opts in to extended replies (JIT_FEATURE_*) */
#define JIT_CMD_CALL 0x31u
#define JIT_CMD_LAST_FAULT 0x32u /* how the last failed EXEC/CALL ended */
#define JIT_CMD_LIST_ALLOCS 0x41u
#define JIT_CMD_OUTPUT 0x50u /* device -> host, unsolicited */
#define JIT_CMD_AUTH_CHALLENGE 0x60u
#define JIT_CMD_AUTH_RESPONSE 0x61u
#define JIT_CMD_AUTH_END 0x62u /* the host is done: authentication is dropped */
#define JIT_CMD_SEALED 0x70u   /* a request or reply wrapped with a sequence byte and a CRC-32 */
#define JIT_CMD_SESSION 0x71u  /* likewise with a counter and a MAC of the authenticated session */

/* SEALED payload: inner command, sequence byte, two zero bytes, inner payload, CRC-32 of the
   whole frame up to it (header included) */
#define JIT_SEAL_HEADER_SIZE 4u
#define JIT_SEAL_CRC_SIZE 4u
#define JIT_SEAL_OVERHEAD (JIT_SEAL_HEADER_SIZE + JIT_SEAL_CRC_SIZE)

/* SESSION payload: inner command, sequence byte, two zero bytes, counter u32, inner payload, the
   first 16 bytes of HMAC-SHA256(session key, the frame from the magic up to here) */
#define JIT_SESSION_HEADER_SIZE 8u
#define JIT_SESSION_TAG_SIZE 16u
#define JIT_SESSION_OVERHEAD (JIT_SESSION_HEADER_SIZE + JIT_SESSION_TAG_SIZE)
#define JIT_HOST_NONCE_SIZE 16u

typedef enum {
    JIT_ERR_OK = 0,
    JIT_ERR_CHECKSUM = 1,
    JIT_ERR_UNKNOWN_CMD = 2,
    JIT_ERR_ALLOC_FAIL = 3,
    JIT_ERR_NOT_ALLOCATED = 4,
    JIT_ERR_BAD_LENGTH = 5,
    JIT_ERR_PAYLOAD_TOO_LARGE = 6,
    JIT_ERR_BUSY = 7,
    JIT_ERR_FAULT = 8,
    JIT_ERR_TIMEOUT = 9,
    JIT_ERR_NOT_AUTHENTICATED = 10,
    JIT_ERR_TABLE_FULL = 11,
    JIT_ERR_BAD_ALIGN = 12,
    JIT_ERR_NOT_EXECUTABLE = 13,
    JIT_ERR_LIMIT_BYTES = 14,
    JIT_ERR_AUTH_FAILED = 15,
    JIT_ERR_RATE_LIMITED = 16,
    JIT_ERR_BAD_ARGUMENT = 17,
    JIT_ERR_OVERRUN = 18, /* JIT code wrote over the guard bytes around an allocation */
} jit_err_t;

/* INFO capability bits */
#define JIT_CAP_CALL (1u << 0)
#define JIT_CAP_LIST_ALLOCS (1u << 1)
#define JIT_CAP_OUTPUT (1u << 2)
#define JIT_CAP_FAULT_RECOVERY (1u << 3)
#define JIT_CAP_AUTH_REQUIRED (1u << 4)
#define JIT_CAP_AUTHENTICATED (1u << 5)
#define JIT_CAP_ICOUNT (1u << 6)
#define JIT_CAP_EMULATOR (1u << 7)
#define JIT_CAP_SEALED (1u << 8)
#define JIT_CAP_FEATURES (1u << 9) /* extended replies only after FEATURES (seed replies until then) */
#define JIT_CAP_SESSION (1u << 10) /* once authenticated, protected requests only in SESSION frames */

/* FEATURES bits: what a host that opted in gets beyond the seed's replies. Until then (and after
   a change of host) every reply to a seed command is exactly the seed's. */
#define JIT_FEATURE_OUTPUT (1u << 0)       /* OUTPUT frames of a call; else its console gets the text */
#define JIT_FEATURE_ERROR_DETAIL (1u << 1) /* FAULT / TIMEOUT replies carry their detail words */
#define JIT_FEATURES_ALL (JIT_FEATURE_OUTPUT | JIT_FEATURE_ERROR_DETAIL)

#define JIT_INFO_SIZE 116u
#define JIT_CALL_REPLY_SIZE 20u
#define JIT_LAST_FAULT_SIZE (20u + 4u * JIT_OVERRUN_WORDS) /* code, entry, mcause, mepc, mtval, overrun record */
#define JIT_SLOT_SIZE 8u
/* overrun record: address, size, bytes damaged before it, bytes damaged after it, allocations hit */
#define JIT_OVERRUN_WORDS 5u

/* ESP-IDF heap capability bits (esp_heap_caps.h), used on the wire by ALLOC */
#define JIT_CAP_MALLOC_EXEC (1u << 0)
#define JIT_CAP_MALLOC_32BIT (1u << 1)
#define JIT_CAP_MALLOC_8BIT (1u << 2)
#define JIT_CAP_MALLOC_DMA (1u << 3)
#define JIT_CAP_MALLOC_SPIRAM (1u << 10)
#define JIT_CAP_MALLOC_INTERNAL (1u << 11)
#define JIT_CAP_MALLOC_DEFAULT (1u << 12)

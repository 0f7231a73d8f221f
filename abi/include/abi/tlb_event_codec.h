/*
 * Encoding, decoding and checking of TLB event records (abi/tlb_event.h) as
 * little-endian bytes, independent of the host's byte order. Host library
 * code (part of tlb_validator); writers of stream files use it too.
 */
#ifndef ABI_TLB_EVENT_CODEC_H
#define ABI_TLB_EVENT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/tlb_event.h"

/*
 * Write `ev` as TLB_EVENT_RECORD_SIZE little-endian bytes into `out`.
 * Requires: out has room for TLB_EVENT_RECORD_SIZE bytes.
 * Guarantees: tlb_event_decode(out) reproduces *ev exactly.
 */
void tlb_event_encode(const struct tlb_event *ev, uint8_t out[TLB_EVENT_RECORD_SIZE]);

/* Read one record from TLB_EVENT_RECORD_SIZE bytes. Never fails (no checks). */
void tlb_event_decode(const uint8_t in[TLB_EVENT_RECORD_SIZE], struct tlb_event *ev);

/* Write / read the 16-byte stream header. */
void tlb_stream_header_encode(const struct tlb_stream_header *h, uint8_t out[16]);
void tlb_stream_header_decode(const uint8_t in[16], struct tlb_stream_header *h);

/*
 * Check a stream header: magic, version (TLB_EVENT_VERSION_MIN..
 * TLB_EVENT_VERSION), record size, 1 <= cpu_count <= 64, reserved flags zero.
 * Guarantees: returns true, or false with a message naming the bad field in
 * err (always NUL-terminated when errlen > 0).
 */
bool tlb_stream_header_check(const struct tlb_stream_header *h, char *err, size_t errlen);

/*
 * Check one record's fields against the format (not against any model
 * state): known type, cpu < cpu_count, levels 1..4, index < 512, page-aligned
 * addresses, canonical flush addresses, known kinds and flags, ranges with
 * start < end, reserved fields zero.
 * Guarantees: returns true, or false with a message naming the record's
 * sequence number and the bad field in err.
 */
bool tlb_event_check(const struct tlb_event *ev, uint32_t cpu_count, char *err, size_t errlen);

/*
 * The highest record type a stream of format `version` may hold
 * (TLB_EV_TYPE_MAX_V1 for version 1, TLB_EV_TYPE_MAX for version 2); 0 for
 * a version this reader does not know.
 */
unsigned tlb_event_type_max(unsigned version);

/*
 * Check that a record's type exists in format `version` (tlb_event_check
 * knows the current version's types; a reader of an older stream checks
 * this too: a version-1 stream holds no NODE_ALLOC).
 * Guarantees: true, or false with a message naming the record and the
 * version in err.
 */
bool tlb_event_check_version(const struct tlb_event *ev, unsigned version, char *err, size_t errlen);

/* A short name for a record type ("PTE_STORE"), "?" when unknown. */
const char *tlb_event_type_name(unsigned type);

/* Longest line tlb_event_format writes (a buffer of this size never cuts). */
#define TLB_EVENT_TEXT_MAX 192u

/*
 * tlb_event_format: one record as one line of text ("event 12 cpu 0
 * PTE_STORE root 0x... level 1 node 0x...[5] 0x... -> 0x..."), every field
 * named as docs/tlb-events.md names it; any type, known or not.
 * Requires: e non-NULL; buf holds len bytes (len may be 0).
 * Guarantees: writes at most len bytes, NUL included (a longer line is cut),
 * nothing when len is 0; returns the length of the string written.
 */
size_t tlb_event_format(const struct tlb_event *e, char *buf, size_t len);

#endif /* ABI_TLB_EVENT_CODEC_H */

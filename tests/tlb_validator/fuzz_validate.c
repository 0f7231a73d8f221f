/*
 * libFuzzer harness over the whole validator: any byte string goes through
 * tlb_validate_bytes (header, record decoding and checks, the model, the
 * checks and the reports, text and JSON printing). Built with
 * clang -fsanitize=fuzzer,address,undefined by run_fuzz.sh.
 *
 * To make the model reachable from random bytes, a second interpretation
 * prepends a valid header (cpu count from the first byte) so that mutations
 * spend their time on records rather than on the magic number.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/tlb_event_codec.h"
#include "tlb/validator.h"

static FILE *devnull;

static void run(const uint8_t *buf, size_t len, bool lints)
{
    struct tlb_validator_options o = tlb_validator_default_options(1);
    struct tlb_policy p = { "fuzz-policy", TLB_CLASS_BIT(TLB_T15) | TLB_CLASS_BIT(TLB_T11), 0x1000, 0x100000 };
    o.report_lints = lints;
    o.report_upgrades = lints;
    o.allow_seq_gaps = lints;
    o.adopt_unknown_entries = lints;
    o.policies = &p;
    o.npolicies = 1;
    o.max_reports = 64;
    struct tlb_validator *v;
    tlb_validate_bytes(buf, len, &o, &v);
    if (!v)
        return;
    for (size_t i = 0; i < tlb_validator_report_count(v); i++) {
        tlb_report_print_text(tlb_validator_report(v, i), devnull);
        tlb_report_print_json(tlb_validator_report(v, i), devnull);
    }
    tlb_validator_destroy(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!devnull)
        devnull = fopen("/dev/null", "w");
    run(data, size, false);
    if (size >= 1) {
        /* The same bytes as records behind a valid header. */
        size_t body = (size - 1) / TLB_EVENT_RECORD_SIZE * TLB_EVENT_RECORD_SIZE;
        uint8_t *buf = malloc(16 + body);
        if (!buf)
            return 0;
        struct tlb_stream_header h = { TLB_STREAM_MAGIC, TLB_EVENT_VERSION, TLB_EVENT_RECORD_SIZE,
                                       1u + data[0] % 8u, 0 };
        tlb_stream_header_encode(&h, buf);
        memcpy(buf + 16, data + 1, body);
        run(buf, 16 + body, data[0] & 0x80);
        free(buf);
    }
    return 0;
}

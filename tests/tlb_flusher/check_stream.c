/*
 * Validate a simulated stream (see check_stream.h).
 */
#include "check_stream.h"

#include <string.h>

bool check_stream(const struct sim *s, struct stream_verdict *out, FILE *print, unsigned max_print)
{
    memset(out, 0, sizeof *out);
    struct tlb_validator_options opt = tlb_validator_default_options(s->nr_cpus);
    struct tlb_validator *v = tlb_validator_create(&opt);
    if (!v)
        return false;
    enum tlb_verdict vd = TLB_VERDICT_OK;
    for (size_t i = 0; i < s->nr_ev && vd != TLB_VERDICT_BAD_INPUT; i++)
        vd = tlb_validator_feed(v, &s->ev[i]);
    vd = tlb_validator_finish(v);
    out->verdict = vd;
    out->violations = tlb_validator_count(v, TLB_REPORT_VIOLATION);
    if (tlb_validator_error(v))
        snprintf(out->error, sizeof out->error, "%s", tlb_validator_error(v));
    unsigned printed = 0;
    for (size_t i = 0; i < tlb_validator_report_count(v); i++) {
        const struct tlb_report *r = tlb_validator_report(v, i);
        if (r->kind != TLB_REPORT_VIOLATION)
            continue;
        if (r->cls < 32)
            out->classes |= TLB_CLASS_BIT(r->cls);
        if (print && printed < max_print) {
            tlb_report_print_text(r, print);
            printed++;
        }
    }
    tlb_validator_destroy(v);
    return true;
}

const char *class_list(uint32_t mask)
{
    /* Two buffers, so two lists can appear in one printf. */
    static char bufs[2][128];
    static unsigned which;
    char *buf = bufs[which++ & 1];
    size_t n = 0;
    buf[0] = 0;
    for (unsigned c = 1; c < 32; c++)
        if (mask & TLB_CLASS_BIT(c))
            n += (size_t)snprintf(buf + n, sizeof bufs[0] - n, "%s%s", n ? " " : "", tlb_class_name(c));
    return buf;
}

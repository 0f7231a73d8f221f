/*
 * tlbcheck: validate a TLB event stream file (docs/tlb-events.md) and print
 * the report.
 *
 *   tlbcheck [--json] [--hints] [--upgrades] [--allow-gaps] [--adopt]
 *            [--policy NAME:CLASSES[:START:END]]... FILE
 *
 * CLASSES is a comma-separated list such as T1,T11,T15; START/END are hex or
 * decimal VAs (END exclusive). --adopt accepts a stream that starts with page
 * tables already built (see docs/validator.md). Exit status: 0 clean (tolerated reports and
 * hints allowed), 1 violations, 2 bad input or usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlb/validator.h"

#define MAX_POLICIES 16

static int usage(const char *msg)
{
    fprintf(stderr, "tlbcheck: %s\nusage: tlbcheck [--json] [--hints] [--upgrades] [--allow-gaps] [--adopt] "
                    "[--policy NAME:CLASSES[:START:END]]... FILE\n", msg);
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        return false;
    *out = x;
    return true;
}

/* NAME:CLASSES[:START:END]; modifies `spec` in place (names point into it). */
static bool parse_policy(char *spec, struct tlb_policy *p)
{
    char *name = strtok(spec, ":"), *classes = strtok(NULL, ":"), *start = strtok(NULL, ":"),
         *end = strtok(NULL, ":");
    if (!name || !classes || (start && !end) || strtok(NULL, ":"))
        return false;
    *p = (struct tlb_policy){ .name = name };
    for (char *c = strtok(classes, ","); c; c = strtok(NULL, ",")) {
        uint64_t n;
        if ((c[0] != 'T' && c[0] != 't') || !parse_u64(c + 1, &n) || n < 1 || n > TLB_CLASS_MAX)
            return false;
        p->classes |= TLB_CLASS_BIT((unsigned)n);
    }
    if (start && (!parse_u64(start, &p->va_start) || !parse_u64(end, &p->va_end)))
        return false;
    return true;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tlbcheck: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (!buf || ferror(f)) {
        fprintf(stderr, "tlbcheck: cannot read %s\n", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    struct tlb_validator_options opt = tlb_validator_default_options(1);
    struct tlb_policy pols[MAX_POLICIES];
    bool json = false;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--hints"))
            opt.report_lints = true;
        else if (!strcmp(argv[i], "--upgrades"))
            opt.report_upgrades = true;
        else if (!strcmp(argv[i], "--allow-gaps"))
            opt.allow_seq_gaps = true;
        else if (!strcmp(argv[i], "--adopt"))
            opt.adopt_unknown_entries = true;
        else if (!strcmp(argv[i], "--policy") && i + 1 < argc) {
            if (opt.npolicies == MAX_POLICIES)
                return usage("too many --policy options (at most 16)");
            if (!parse_policy(argv[++i], &pols[opt.npolicies]))
                return usage("bad --policy; expected NAME:T1,T11[:START:END]");
            opt.npolicies++;
        } else if (argv[i][0] == '-')
            return usage("unknown option");
        else if (file)
            return usage("more than one FILE");
        else
            file = argv[i];
    }
    if (!file)
        return usage("no FILE given");
    opt.policies = pols;
    size_t len;
    uint8_t *buf = read_file(file, &len);
    if (!buf)
        return 2;
    struct tlb_validator *v;
    enum tlb_verdict verdict = tlb_validate_bytes(buf, len, &opt, &v);
    free(buf);
    if (!v) {
        fprintf(stderr, "tlbcheck: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < tlb_validator_report_count(v); i++) {
        if (json)
            tlb_report_print_json(tlb_validator_report(v, i), stdout);
        else
            tlb_report_print_text(tlb_validator_report(v, i), stdout);
    }
    if (verdict == TLB_VERDICT_BAD_INPUT)
        fprintf(stderr, "tlbcheck: %s: bad input: %s\n", file, tlb_validator_error(v));
    fprintf(stderr, "tlbcheck: %s: %" PRIu64 " events, %" PRIu64 " violations, %" PRIu64 " tolerated, %" PRIu64
            " hints%s\n", file, tlb_validator_events(v), tlb_validator_count(v, TLB_REPORT_VIOLATION),
            tlb_validator_count(v, TLB_REPORT_TOLERATED), tlb_validator_count(v, TLB_REPORT_HINT),
            tlb_validator_report_count(v) < tlb_validator_count(v, TLB_REPORT_VIOLATION) +
                    tlb_validator_count(v, TLB_REPORT_TOLERATED) + tlb_validator_count(v, TLB_REPORT_HINT)
                ? " (not all printed)" : "");
    tlb_validator_destroy(v);
    return verdict == TLB_VERDICT_BAD_INPUT ? 2 : verdict == TLB_VERDICT_VIOLATION ? 1 : 0;
}

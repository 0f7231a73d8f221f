/*
 * tlbcheck: validate a TLB event stream file (docs/tlb-events.md) and print
 * the report.
 *
 *   tlbcheck [--json] [--hints] [--upgrades] [--allow-gaps] [--adopt]
 *            [--policy NAME:CLASSES[:START:END]]... FILE|-
 *
 * FILE is a regular file or a pipe; "-" reads standard input. The stream is
 * validated as it is read (memory does not grow with its length); a device
 * or other file that may never end is refused.
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
#include <sys/stat.h>

#include "abi/tlb_event_codec.h"
#include "tlb/validator.h"

#define MAX_POLICIES 16

static int usage(const char *msg)
{
    fprintf(stderr, "tlbcheck: %s\nusage: tlbcheck [--json] [--hints] [--upgrades] [--allow-gaps] [--adopt] "
                    "[--policy NAME:CLASSES[:START:END]]... FILE|-\n", msg);
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

/* What a non-regular file is, for the refusal message. */
static const char *file_kind(mode_t m)
{
    return S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" : S_ISDIR(m) ? "a directory"
           : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/*
 * Open the input: "-" is standard input (whatever it is: a pipe or a
 * terminal ends). A named path must be a regular file or a pipe (FIFO): a
 * device such as /dev/zero never ends, so it is refused rather than read
 * forever. NULL (after a message) on failure.
 */
static FILE *open_input(const char *path)
{
    if (!strcmp(path, "-"))
        return stdin;
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "tlbcheck: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        fprintf(stderr, "tlbcheck: %s is %s, not a regular file or a pipe: refusing to read it (it may never "
                        "end); use '-' to read standard input\n", path, file_kind(st.st_mode));
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        fprintf(stderr, "tlbcheck: cannot open %s: %s\n", path, strerror(errno));
    return f;
}

/* Read up to n bytes (short only at end of input or on an error). */
static size_t read_full(FILE *f, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t k = fread(buf + got, 1, n - got, f);
        if (k == 0)
            break;
        got += k;
    }
    return got;
}

#define CHUNK_RECORDS 4096   /* records read at a time: memory stays constant, whatever the input's size */

/*
 * Validate the stream read from f, record by record (never holding more than
 * one chunk). Returns the verdict and the validator in *out (NULL only when
 * the header is bad or memory runs out; then `err` says why).
 */
static enum tlb_verdict validate_stream(FILE *f, const char *name, struct tlb_validator_options *opt,
                                        struct tlb_validator **out, char *err, size_t errlen)
{
    *out = NULL;
    uint8_t hdr[16];
    size_t n = read_full(f, hdr, sizeof hdr);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read %s: %s", name, strerror(errno));
        return TLB_VERDICT_BAD_INPUT;
    }
    if (n < sizeof hdr) {
        snprintf(err, errlen, "truncated stream: %zu bytes, shorter than the 16-byte header", n);
        return TLB_VERDICT_BAD_INPUT;
    }
    struct tlb_stream_header h;
    tlb_stream_header_decode(hdr, &h);
    if (!tlb_stream_header_check(&h, err, errlen))
        return TLB_VERDICT_BAD_INPUT;
    opt->cpu_count = h.cpu_count;
    opt->format_version = h.version;
    struct tlb_validator *v = tlb_validator_create(opt);
    uint8_t *buf = malloc(CHUNK_RECORDS * TLB_EVENT_RECORD_SIZE);
    if (!v || !buf) {
        tlb_validator_destroy(v);
        free(buf);
        snprintf(err, errlen, "out of memory");
        return TLB_VERDICT_BAD_INPUT;
    }
    *out = v;
    enum tlb_verdict verdict = TLB_VERDICT_OK;
    for (;;) {
        n = read_full(f, buf, CHUNK_RECORDS * TLB_EVENT_RECORD_SIZE);
        for (size_t off = 0; off + TLB_EVENT_RECORD_SIZE <= n && verdict != TLB_VERDICT_BAD_INPUT;
             off += TLB_EVENT_RECORD_SIZE) {
            struct tlb_event ev;
            tlb_event_decode(buf + off, &ev);
            if (tlb_validator_feed(v, &ev) == TLB_VERDICT_BAD_INPUT)
                verdict = TLB_VERDICT_BAD_INPUT;
        }
        if (verdict == TLB_VERDICT_BAD_INPUT)
            break;
        if (ferror(f)) {
            snprintf(err, errlen, "cannot read %s: %s", name, strerror(errno));
            verdict = TLB_VERDICT_BAD_INPUT;
            break;
        }
        if (n % TLB_EVENT_RECORD_SIZE) {   /* a short read happens only at the end */
            snprintf(err, errlen, "truncated stream: the last record is cut after %zu of its %u bytes",
                     n % TLB_EVENT_RECORD_SIZE, TLB_EVENT_RECORD_SIZE);
            verdict = TLB_VERDICT_BAD_INPUT;
            break;
        }
        if (n < CHUNK_RECORDS * TLB_EVENT_RECORD_SIZE) {
            verdict = tlb_validator_finish(v);
            break;
        }
    }
    free(buf);
    return verdict;
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
        } else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage("unknown option");
        else if (file)
            return usage("more than one FILE");
        else
            file = argv[i];
    }
    if (!file)
        return usage("no FILE given");
    opt.policies = pols;
    FILE *in = open_input(file);
    if (!in)
        return 2;
    const char *name = strcmp(file, "-") ? file : "standard input";
    char err[256] = "";
    struct tlb_validator *v;
    enum tlb_verdict verdict = validate_stream(in, name, &opt, &v, err, sizeof err);
    if (in != stdin)
        fclose(in);
    if (!v) {
        fprintf(stderr, "tlbcheck: %s: bad input: %s\n", name, err);
        return 2;
    }
    for (size_t i = 0; i < tlb_validator_report_count(v); i++) {
        if (json)
            tlb_report_print_json(tlb_validator_report(v, i), stdout);
        else
            tlb_report_print_text(tlb_validator_report(v, i), stdout);
    }
    if (verdict == TLB_VERDICT_BAD_INPUT)
        fprintf(stderr, "tlbcheck: %s: bad input: %s\n", name, tlb_validator_error(v) ? tlb_validator_error(v) : err);
    fprintf(stderr, "tlbcheck: %s: %" PRIu64 " events, %" PRIu64 " violations, %" PRIu64 " tolerated, %" PRIu64
            " hints%s\n", name, tlb_validator_events(v), tlb_validator_count(v, TLB_REPORT_VIOLATION),
            tlb_validator_count(v, TLB_REPORT_TOLERATED), tlb_validator_count(v, TLB_REPORT_HINT),
            tlb_validator_report_count(v) < tlb_validator_count(v, TLB_REPORT_VIOLATION) +
                    tlb_validator_count(v, TLB_REPORT_TOLERATED) + tlb_validator_count(v, TLB_REPORT_HINT)
                ? " (not all printed)" : "");
    tlb_validator_destroy(v);
    return verdict == TLB_VERDICT_BAD_INPUT ? 2 : verdict == TLB_VERDICT_VIOLATION ? 1 : 0;
}

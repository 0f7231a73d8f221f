/*
 * tlb_scenario_gen DIR: write every catalogue scenario as a stream file,
 * DIR/<name>_bug.tlb and (where it has one) DIR/<name>_ok.tlb. Used for the
 * fuzzer's seed corpus and the tlbcheck CLI test; also handy to see a report:
 *   build/bin/tlb_scenario_gen /tmp/s && build/bin/tlbcheck /tmp/s/t1_bug.tlb
 */
#include <stdio.h>
#include <stdlib.h>

#include "scenarios.h"

static int write_stream(const char *dir, const char *name, const char *suffix, const struct sb *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_%s.tlb", dir, name, suffix);
    size_t len;
    uint8_t *buf = sb_bytes(b, &len);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    free(buf);
    if (!ok)
        fprintf(stderr, "tlb_scenario_gen: cannot write %s\n", path);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tlb_scenario_gen DIR\n");
        return 2;
    }
    int rc = 0;
    for (unsigned i = 0; i < tlb_nscenarios; i++) {
        const struct scenario *s = &tlb_scenarios[i];
        struct sb b;
        struct expect e;
        if (!s->never_bug) {
            s->build(&b, true, &e);
            rc |= write_stream(argv[1], s->name, "bug", &b);
            sb_free(&b);
        }
        if (s->has_correct) {
            s->build(&b, false, &e);
            rc |= write_stream(argv[1], s->name, "ok", &b);
            sb_free(&b);
        }
    }
    return rc;
}

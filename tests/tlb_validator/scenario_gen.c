/*
 * tlb_scenario_gen DIR: write every catalogue scenario as a stream file,
 * DIR/<name>_bug.tlb and (where it has one) DIR/<name>_ok.tlb. Used for the
 * fuzzer's seed corpus and the tlbcheck CLI test; also handy to see a report:
 *   build/bin/tlb_scenario_gen /tmp/s && build/bin/tlbcheck /tmp/s/t1_bug.tlb
 *
 * tlb_scenario_gen --long N: write to standard output a clean stream of N
 * map/unmap/INVLPG cycles on one CPU (3N + 4 records), generated as it is
 * written, to show that tlbcheck validates a stream longer than its memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/tlb_event_codec.h"
#include "pagetable/x86_64.h"
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

static uint64_t long_seq;

static int put(struct tlb_event ev)
{
    uint8_t rec[TLB_EVENT_RECORD_SIZE];
    ev.seq = ++long_seq;
    tlb_event_encode(&ev, rec);
    return fwrite(rec, 1, sizeof rec, stdout) == sizeof rec ? 0 : 1;
}

static int put_store(uint64_t node, int level, unsigned idx, uint64_t old, uint64_t new)
{
    struct tlb_event ev = { .type = TLB_EV_PTE_STORE, .sub = (uint8_t)level, .arg = (uint16_t)idx, .root = 0x100000 };
    ev.u.pte.node = node;
    ev.u.pte.old_pte = old;
    ev.u.pte.new_pte = new;
    return put(ev);
}

static int write_long(unsigned long long cycles)
{
    uint8_t hdr[16];
    struct tlb_stream_header h = { TLB_STREAM_MAGIC, TLB_EVENT_VERSION, TLB_EVENT_RECORD_SIZE, 1, 0 };
    tlb_stream_header_encode(&h, hdr);
    int rc = fwrite(hdr, 1, sizeof hdr, stdout) != sizeof hdr;
    rc |= put_store(0x100000, 4, 0, 0, sb_table(0x101000));
    rc |= put_store(0x101000, 3, 0, 0, sb_table(0x102000));
    rc |= put_store(0x102000, 2, 0, 0, sb_table(0x103000));
    struct tlb_event cr3 = { .type = TLB_EV_CR3_LOAD, .root = 0x100000 };
    rc |= put(cr3);
    uint64_t leaf = sb_leaf(0x200000, true, false);
    for (unsigned long long i = 0; i < cycles && !rc; i++) {
        rc |= put_store(0x103000, 1, 5, 0, leaf);
        rc |= put_store(0x103000, 1, 5, leaf, 0);
        struct tlb_event fl = { .type = TLB_EV_FLUSH, .sub = TLB_FLUSH_SINGLE };
        fl.u.flush.va = 5 * 4096;
        fl.u.flush.npages = 1;
        rc |= put(fl);
    }
    return fflush(stdout) != 0 || rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--long"))
        return write_long(strtoull(argv[2], NULL, 0)) ? 1 : 0;
    if (argc != 2) {
        fprintf(stderr, "usage: tlb_scenario_gen DIR | tlb_scenario_gen --long N\n");
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

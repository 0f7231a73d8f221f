/* Page-table dump as merged ranges; see ptdump.h. */
#include "ptdump.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "pagetable/x86_64.h"

#define MAX_NODES (1u << 16)
#define PTE_PAT_HUGE (1ull << 12)   /* PAT bit of a 2 MiB / 1 GiB leaf */

/* The bits a range line shows (effective RW/US/NX, the leaf's others). */
enum { F_P = 1, F_RW = 2, F_US = 4, F_PWT = 8, F_PCD = 16, F_PAT = 32, F_A = 64, F_D = 128,
       F_G = 256, F_NX = 512 };

struct dumper {
    const uint8_t *ram;
    uint64_t mem;
    FILE *out;
    unsigned nodes;
    bool open;                   /* a range is being accumulated */
    uint64_t start, end;
    int level;
    unsigned flags;
};

static const char *size_text(uint64_t bytes, char *buf, size_t len)
{
    static const char units[] = "KMGTP";
    uint64_t v = bytes >> 10;
    int u = 0;

    while (v >= 1024 && v % 1024 == 0 && u < 4) {
        v >>= 10;
        u++;
    }
    snprintf(buf, len, "%" PRIu64 "%c", v, units[u]);
    return buf;
}

static void flush_range(struct dumper *d)
{
    static const char *const lvl[] = { "?", "pte", "pmd", "pud", "pgd" };
    char sz[24];
    unsigned f = d->flags;

    if (!d->open)
        return;
    d->open = false;
    fprintf(d->out, "0x%016" PRIx64 "-0x%016" PRIx64 " %8s %s  %s %s %s %s %s %s %s %s %s %s\n",
            d->start, d->end, size_text(d->end - d->start, sz, sizeof(sz)), lvl[d->level],
            f & F_P ? "P " : "np", f & F_RW ? "RW" : "ro", f & F_US ? "USR" : "   ",
            f & F_PWT ? "PWT" : "   ", f & F_PCD ? "PCD" : "   ", f & F_PAT ? "PAT" : "   ",
            f & F_A ? "A" : " ", f & F_D ? "D" : " ", f & F_G ? "GLB" : "   ",
            f & F_NX ? "NX" : "x ");
}

static unsigned leaf_flags(pt_pte_t pte, int level, bool rw, bool us, bool nx)
{
    unsigned f = 0;

    f |= pte & PTE_P ? F_P : 0;
    f |= rw && (pte & PTE_RW) ? F_RW : 0;
    f |= us && (pte & PTE_US) ? F_US : 0;
    f |= pte & PTE_PWT ? F_PWT : 0;
    f |= pte & PTE_PCD ? F_PCD : 0;
    f |= (level == 1 ? pte & PTE_PS : pte & PTE_PAT_HUGE) ? F_PAT : 0;
    f |= pte & PTE_A ? F_A : 0;
    f |= pte & PTE_D ? F_D : 0;
    f |= pte & PTE_G ? F_G : 0;
    f |= nx || (pte & PTE_NX) ? F_NX : 0;
    return f;
}

static void add_leaf(struct dumper *d, uint64_t va, int level, unsigned flags)
{
    uint64_t size = pt_page_size(level);

    if (d->open && d->end == va && d->level == level && d->flags == flags) {
        d->end = va + size;
        return;
    }
    flush_range(d);
    *d = (struct dumper){ d->ram, d->mem, d->out, d->nodes, true, va, va + size, level, flags };
}

static bool read_pte(const struct dumper *d, uint64_t pa, pt_pte_t *out)
{
    if (pa >= d->mem || d->mem - pa < 8)
        return false;
    memcpy(out, d->ram + pa, 8);
    return true;
}

static void walk(struct dumper *d, uint64_t node, int level, uint64_t base, bool rw, bool us,
                 bool nx)
{
    if (++d->nodes > MAX_NODES) {
        if (d->nodes == MAX_NODES + 1) {
            flush_range(d);
            fprintf(d->out, "... more than %u page-table nodes; the rest is not shown\n",
                    MAX_NODES);
        }
        return;
    }
    for (unsigned i = 0; i < PT_NR_ENTRIES; i++) {
        uint64_t va = pt_canonical(base + (uint64_t)i * pt_page_size(level));
        pt_pte_t pte;
        if (!read_pte(d, node + 8ull * i, &pte)) {
            flush_range(d);
            fprintf(d->out, "0x%016" PRIx64 " L%d node 0x%" PRIx64 " lies outside guest RAM\n",
                    va, level, node);
            return;
        }
        if (pte == 0) {
            flush_range(d);
        } else if ((level <= 3 && (pte & PTE_PS)) || (level == 1 && (pte & PTE_P))) {
            add_leaf(d, va, level, leaf_flags(pte, level, rw, us, nx));
        } else if (level > 1 && (pte & PTE_P) && !(pte & PTE_PS)) {
            walk(d, pte & PTE_TABLE_ADDR_MASK, level - 1, va, rw && (pte & PTE_RW),
                 us && (pte & PTE_US), nx || (pte & PTE_NX));
        } else {
            flush_range(d);
            fprintf(d->out, "0x%016" PRIx64 " L%d[%u] 0x%016" PRIx64 " malformed entry (%s)\n",
                    va, level, i, pte, level == 4 && (pte & PTE_PS) ? "leaf bit in a PML4 entry"
                    : "non-zero, not present, not a leaf");
        }
    }
}

void vmm_ptdump(const uint8_t *ram, uint64_t mem, uint64_t root, FILE *out)
{
    struct dumper d = { ram, mem, out, 0, false, 0, 0, 0, 0 };

    walk(&d, root & PTE_TABLE_ADDR_MASK, PT_NR_LEVELS, 0, true, true, false);
    flush_range(&d);
}

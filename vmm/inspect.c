/* Guest page tables vs the validator's model; see inspect.h. */
#include "inspect.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pagetable/x86_64.h"

#define MAX_NODES (1u << 16)
#define AD_MASK (PTE_A | PTE_D)

void vmm_inspect_add(struct vmm_inspect_out *out, uint32_t cpu, uint64_t node, unsigned index,
                     int level, uint64_t guest, uint64_t model, const char *what)
{
    if (out->count < out->max) {
        struct vmm_mismatch *m = &out->m[out->count];
        *m = (struct vmm_mismatch){ cpu, node, index, level, guest, model, "" };
        snprintf(m->what, sizeof(m->what), "%s", what);
    }
    out->count++;
}

struct walker {
    const uint8_t *ram;
    uint64_t mem;
    const struct tlb_validator *val;
    const struct vmm_pa_set *written;
    uint32_t cpu;
    unsigned nodes;
    struct vmm_inspect_out *out;
    uint64_t other[VMM_INSPECT_SAMPLES];   /* leaves the stream never wrote */
    size_t nother;
};

static void entry_mismatch(struct walker *w, uint64_t node, unsigned i, int level, uint64_t va,
                           uint64_t guest, uint64_t model)
{
    char what[200];

    snprintf(what, sizeof(what), "L%d node 0x%" PRIx64 " entry %u (va 0x%" PRIx64 "): guest "
             "memory has 0x%016" PRIx64 ", the model has 0x%016" PRIx64 " (A/D ignored)", level,
             node, i, va, guest, model);
    vmm_inspect_add(w->out, w->cpu, node, i, level, guest, model, what);
}

/* Samples for KVM_TRANSLATE: leaves the stream wrote first (the workload's
 * own mappings), then others if room is left (see vmm_inspect_tree). */
static void sample(struct walker *w, uint64_t va, bool traced)
{
    if (traced && w->out->nsamples < VMM_INSPECT_SAMPLES)
        w->out->samples[w->out->nsamples++] = va;
    else if (!traced && w->nother < VMM_INSPECT_SAMPLES)
        w->other[w->nother++] = va;
}

static void walk(struct walker *w, uint64_t node, int level, uint64_t base)
{
    bool whole;

    if (++w->nodes > MAX_NODES)
        return;
    if (node >= w->mem || w->mem - node < PT_BASE_PAGE_SIZE) {
        char what[160];
        snprintf(what, sizeof(what), "L%d page-table node 0x%" PRIx64 " (va 0x%" PRIx64
                 ") lies outside guest RAM", level, node, base);
        vmm_inspect_add(w->out, w->cpu, node, 0, level, node, 0, what);
        return;
    }
    /* A node the stream allocated: every entry is modelled (0 until stored). */
    whole = tlb_validator_node_whole(w->val, node);
    for (unsigned i = 0; i < PT_NR_ENTRIES; i++) {
        uint64_t va = pt_canonical(base + (uint64_t)i * pt_page_size(level)), model;
        pt_pte_t pte;
        int mlevel;
        bool traced = false;

        memcpy(&pte, w->ram + node + 8ull * i, 8);
        if (!(whole || vmm_pa_set_has(w->written, node + 8ull * i)) ||
            !tlb_validator_model_pte(w->val, node, i, &model, &mlevel)) {
            w->out->unmodelled++;
        } else {
            traced = true;
            w->out->compared++;
            if ((pte & ~AD_MASK) != (model & ~AD_MASK))
                entry_mismatch(w, node, i, level, va, pte, model);
        }
        if (level > 1 && (pte & PTE_P) && !(pte & PTE_PS))
            walk(w, pte & PTE_TABLE_ADDR_MASK, level - 1, va);
        else if (pte & PTE_P)
            sample(w, va, traced);
    }
}

static void check_root(struct walker *w, uint64_t root)
{
    uint64_t mroot;
    uint16_t pcid;
    char what[200];

    if (!tlb_validator_cpu_root(w->val, w->cpu, &mroot, &pcid))
        return;     /* no CR3 load of this CPU in the stream yet */
    if (mroot == root)
        return;
    snprintf(what, sizeof(what), "CR3 holds root 0x%" PRIx64 " but the events say this CPU "
             "loaded 0x%" PRIx64 " (pcid %u)", root, mroot, pcid);
    vmm_inspect_add(w->out, w->cpu, 0, 0, 4, root, mroot, what);
}

void vmm_inspect_tree(const uint8_t *ram, uint64_t mem, const struct tlb_validator *val,
                      const struct vmm_pa_set *written, uint32_t cpu, uint64_t cr3,
                      struct vmm_inspect_out *out)
{
    struct walker w = { ram, mem, val, written, cpu, 0, out, { 0 }, 0 };
    uint64_t root = cr3 & PTE_TABLE_ADDR_MASK;

    check_root(&w, root);
    walk(&w, root, PT_NR_LEVELS, 0);
    for (size_t i = 0; i < w.nother && out->nsamples < VMM_INSPECT_SAMPLES; i++)
        out->samples[out->nsamples++] = w.other[i];
}

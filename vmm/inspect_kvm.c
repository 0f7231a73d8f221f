/* Registers, KVM_TRANSLATE and --dump-pt; see inspect_kvm.h. */
#include "inspect_kvm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "inspect.h"
#include "out.h"
#include "ptdump.h"
#include "pagetable/walk.h"

#define CR0_PG (1ull << 31)

struct ram_reader {
    const uint8_t *ram;
    uint64_t mem;
};

static bool read_ram(void *ctx, pt_paddr_t pa, pt_pte_t *out)
{
    const struct ram_reader *r = ctx;

    if (pa >= r->mem || r->mem - pa < 8)
        return false;
    memcpy(out, r->ram + pa, 8);
    return true;
}

/* The host walker and KVM's own walk must agree on every sampled address. */
static void cross_check(struct vmm_machine *m, struct vmm_vcpu *v, uint64_t root,
                        const struct vmm_inspect_out *io, struct vmm_inspect_out *out)
{
    struct ram_reader rr = { m->vm.ram, m->p->mem };

    for (size_t i = 0; i < io->nsamples; i++) {
        struct pt_walk_result w;
        struct kvm_translation t = { .linear_address = io->samples[i] };
        char what[200];

        if (pt_walk(root, io->samples[i], read_ram, &rr, &w) != PT_WALK_OK)
            continue;
        if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0)
            return;         /* not supported here: nothing to compare */
        if (w.translates == (bool)t.valid && (!w.translates || w.pa == t.physical_address))
            continue;
        snprintf(what, sizeof(what), "va 0x%" PRIx64 ": the host walk gives %s0x%" PRIx64
                 ", KVM_TRANSLATE gives %s0x%llx", io->samples[i],
                 w.translates ? "" : "no translation ", w.pa, t.valid ? "" : "no translation ",
                 (unsigned long long)t.physical_address);
        vmm_inspect_add(out, v->index, 0, 0, w.level, w.pa, t.physical_address, what);
    }
}

size_t vmm_inspect_machine(struct vmm_machine *m, const struct tlb_validator *val,
                           const struct vmm_pa_set *written, struct vmm_mismatch *out,
                           size_t max, struct vmm_inspect_counts *counts)
{
    struct vmm_inspect_out io = { .m = out, .max = max };

    for (unsigned i = 0; i < m->p->cpus; i++) {
        struct vmm_vcpu *v = &m->vcpus[i];
        struct kvm_sregs s;

        if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
            vmm_errf("vmm: cpu %u: KVM_GET_SREGS: %s (not inspected)\n", i, strerror(errno));
            continue;
        }
        if (!(s.cr0 & CR0_PG))
            continue;       /* not started, or paging off: nothing to compare */
        io.nsamples = 0;
        vmm_inspect_tree(m->vm.ram, m->p->mem, val, written, i, s.cr3, &io);
        cross_check(m, v, s.cr3 & PTE_TABLE_ADDR_MASK, &io, &io);
    }
    *counts = (struct vmm_inspect_counts){ io.compared, io.unmodelled };
    return io.count;
}

void vmm_inspect_dump_pt(struct vmm_machine *m)
{
    for (unsigned i = 0; i < m->p->cpus; i++) {
        struct kvm_sregs s;
        char *text = NULL;
        size_t len = 0;
        FILE *f;

        if (ioctl(m->vcpus[i].fd, KVM_GET_SREGS, &s) < 0 || !(s.cr0 & CR0_PG))
            continue;
        f = open_memstream(&text, &len);
        if (!f)
            return;
        fprintf(f, "---[ cpu %u: CR3 0x%llx CR4 0x%llx EFER 0x%llx ]---\n", i,
                (unsigned long long)s.cr3, (unsigned long long)s.cr4,
                (unsigned long long)s.efer);
        vmm_ptdump(m->vm.ram, m->p->mem, s.cr3, f);
        fclose(f);
        vmm_out_write(text, len);
        free(text);
    }
}

/* /dev/kvm, VM creation and CPUID; see kvm.h. */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memmap.h"
#include "out.h"
#include "abi/vmm.h"

static void kick_handler(int sig)
{
    (void)sig;   /* only there to make KVM_RUN return EINTR */
}

static int install_kick_handler(char *err, size_t errlen)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0) {
        snprintf(err, errlen, "sigaction(SIGUSR1): %s", strerror(errno));
        return -1;
    }
    return 0;
}

static const struct { int cap; const char *name; } required_caps[] = {
    { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
    { KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
    { KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
    { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

static int check_caps(struct vmm_kvm *k, unsigned cpus, bool verbose,
                      char *err, size_t errlen)
{
    int v, nr, max;

    v = ioctl(k->fd, KVM_GET_API_VERSION, 0);
    if (v != KVM_API_VERSION) {
        snprintf(err, errlen, "KVM API version is %d, need %d", v, KVM_API_VERSION);
        return -1;
    }
    for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
        if (ioctl(k->fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
            snprintf(err, errlen, "KVM lacks the capability %s", required_caps[i].name);
            return -1;
        }
    }
    /* KVM_CAP_NR_VCPUS is the recommended maximum, KVM_CAP_MAX_VCPUS the
     * hard one (absent on old kernels: then the recommended one is it). */
    nr = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    max = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max <= 0)
        max = nr > 0 ? nr : 4;
    k->max_vcpus = (unsigned)max;
    if (cpus > k->max_vcpus) {
        snprintf(err, errlen, "--cpus %u exceeds this host's KVM_CAP_MAX_VCPUS (%u)",
                 cpus, k->max_vcpus);
        return -1;
    }
    if (verbose && nr > 0 && cpus > (unsigned)nr)
        vmm_errf("vmm: note: %u vCPUs is above KVM_CAP_NR_VCPUS (%d), the recommended "
                 "maximum\n", cpus, nr);
    return 0;
}

static int get_supported_cpuid(struct vmm_kvm *k, char *err, size_t errlen)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
        if (!c) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        c->nent = n;
        if (ioctl(k->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            k->cpuid = c;
            return 0;
        }
        free(c);
        if (errno != E2BIG) {
            snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
            return -1;
        }
    }
    snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
    return -1;
}

int vmm_kvm_open(struct vmm_kvm *k, unsigned cpus, bool verbose, char *err, size_t errlen)
{
    int sz;

    memset(k, 0, sizeof(*k));
    k->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (k->fd < 0) {
        snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(errno));
        return -1;
    }
    if (check_caps(k, cpus, verbose, err, errlen) < 0)
        goto fail;
    sz = ioctl(k->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz < (int)sizeof(struct kvm_run)) {
        snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s",
                 sz < 0 ? strerror(errno) : "too small");
        goto fail;
    }
    k->run_size = (size_t)sz;
    if (get_supported_cpuid(k, err, errlen) < 0 || install_kick_handler(err, errlen) < 0)
        goto fail;
    if (verbose)
        vmm_errf("vmm: KVM API %d, max %u vCPUs, %u supported CPUID entries, kvm_run %zu "
                 "bytes\n", KVM_API_VERSION, k->max_vcpus, k->cpuid->nent, k->run_size);
    return 0;
fail:
    vmm_kvm_close(k);
    return -1;
}

void vmm_kvm_close(struct vmm_kvm *k)
{
    if (k->fd >= 0)
        close(k->fd);
    free(k->cpuid);
    memset(k, 0, sizeof(*k));
    k->fd = -1;
}

static int set_slot(struct vmm_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
                    uint64_t size, void *host, char *err, size_t errlen)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot, .flags = flags, .guest_phys_addr = gpa,
        .memory_size = size, .userspace_addr = (uint64_t)(uintptr_t)host,
    };

    if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
        snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION (slot %u at 0x%llx): %s",
                 slot, (unsigned long long)gpa, strerror(errno));
        return -1;
    }
    return 0;
}

/* Maps anonymous memory; NULL on failure. */
static uint8_t *map_anon(uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/*
 * Maps guest RAM 2 MiB-aligned and asks for transparent huge pages, so that
 * KVM can back the guest with 2 MiB pages where the host allows it (fewer
 * host faults and TLB misses). Without THP it works with 4 KiB pages. (On
 * the nested-KVM development host this made no measurable difference to
 * boot time, which is dominated by the guest's first touch of its RAM.)
 */
static uint8_t *map_ram(uint64_t size)
{
    const uint64_t huge = 2ull << 20;
    uint8_t *p = map_anon(size + huge), *aligned;

    if (!p)
        return NULL;
    aligned = (uint8_t *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
    if (aligned > p)
        munmap(p, (size_t)(aligned - p));
    if (aligned + size < p + size + huge)
        munmap(aligned + size, (size_t)(p + size + huge - (aligned + size)));
    madvise(aligned, size, MADV_HUGEPAGE);
    return aligned;
}

static int vm_ioctl(struct vmm_vm *vm, unsigned long req, unsigned long arg,
                    const char *name, char *err, size_t errlen)
{
    if (ioctl(vm->fd, req, arg) < 0) {
        snprintf(err, errlen, "%s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

int vmm_vm_create(struct vmm_kvm *k, struct vmm_vm *vm, uint64_t mem_size,
                  const uint8_t *rom, size_t rom_size, char *err, size_t errlen)
{
    uint64_t idmap = VMM_KVM_IDENTITY_MAP_ADDR;

    memset(vm, 0, sizeof(*vm));
    if (rom_size != VMM_FW_ROM_SIZE) {
        snprintf(err, errlen, "firmware image is %zu bytes, must be exactly %llu",
                 rom_size, VMM_FW_ROM_SIZE);
        vm->fd = -1;
        return -1;
    }
    vm->fd = ioctl(k->fd, KVM_CREATE_VM, 0);
    if (vm->fd < 0) {
        snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
        return -1;
    }
    /* Intel VMX needs these private pages for real-mode emulation; harmless
     * elsewhere. Both sit above any RAM and below the LAPIC. */
    if (vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&idmap,
                 "KVM_SET_IDENTITY_MAP_ADDR", err, errlen) < 0 ||
        vm_ioctl(vm, KVM_SET_TSS_ADDR, VMM_KVM_TSS_ADDR, "KVM_SET_TSS_ADDR", err, errlen) < 0 ||
        vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP", err, errlen) < 0)
        goto fail;
    vm->mem_size = mem_size;
    vm->ram = map_ram(mem_size);
    vm->rom = map_anon(VMM_FW_ROM_SIZE);
    if (!vm->ram || !vm->rom) {
        snprintf(err, errlen, "cannot map %llu bytes of guest memory: %s",
                 (unsigned long long)mem_size, strerror(errno));
        goto fail;
    }
    memcpy(vm->rom, rom, VMM_FW_ROM_SIZE);
    if (set_slot(vm, 0, 0, 0, mem_size, vm->ram, err, errlen) < 0 ||
        set_slot(vm, 1, KVM_MEM_READONLY, VMM_FW_ROM_ADDR, VMM_FW_ROM_SIZE, vm->rom,
                 err, errlen) < 0)
        goto fail;
    return 0;
fail:
    vmm_vm_destroy(vm);
    return -1;
}

void vmm_vm_destroy(struct vmm_vm *vm)
{
    if (vm->fd >= 0)
        close(vm->fd);
    if (vm->ram)
        munmap(vm->ram, vm->mem_size);
    if (vm->rom)
        munmap(vm->rom, VMM_FW_ROM_SIZE);
    memset(vm, 0, sizeof(*vm));
    vm->fd = -1;
}

static unsigned bits_for(unsigned n)
{
    unsigned s = 0;

    while ((1u << s) < n)
        s++;
    return s;
}

static void patch_topology(struct kvm_cpuid_entry2 *e, unsigned apic, unsigned cpus)
{
    e->edx = apic;
    if (e->index == 0) {            /* SMT level: one thread per core */
        e->eax = 0;
        e->ebx = 1;
        e->ecx = (1u << 8) | 0;
    } else if (e->index == 1) {     /* core level: all CPUs in one package */
        e->eax = bits_for(cpus);
        e->ebx = cpus;
        e->ecx = (2u << 8) | 1;
    } else {                        /* no further levels */
        e->eax = 0;
        e->ebx = 0;
        e->ecx = e->index;
    }
}

struct kvm_cpuid2 *vmm_kvm_vcpu_cpuid(const struct vmm_kvm *k, unsigned index,
                                      unsigned cpus)
{
    size_t sz = sizeof(*k->cpuid) + k->cpuid->nent * sizeof(k->cpuid->entries[0]);
    struct kvm_cpuid2 *c = malloc(sz);

    if (!c)
        return NULL;
    memcpy(c, k->cpuid, sz);
    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            e->ebx = (e->ebx & 0x00ffffffu) | (index << 24);
            e->ecx |= (1u << 21) | (1u << 31);   /* x2APIC, hypervisor */
            break;
        case 0xb:
        case 0x1f:
            patch_topology(e, index, cpus);
            break;
        case 0x8000001e:
            e->eax = index;                      /* AMD extended APIC ID */
            break;
        }
    }
    return c;
}

/* APs wait for INIT-SIPI: with the in-kernel LAPIC they normally start
 * UNINITIALIZED already; make that explicit. */
static int park_ap(int fd, unsigned index, char *err, size_t errlen)
{
    struct kvm_mp_state mp;

    if (ioctl(fd, KVM_GET_MP_STATE, &mp) < 0) {
        snprintf(err, errlen, "KVM_GET_MP_STATE on vCPU %u: %s", index, strerror(errno));
        return -1;
    }
    if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED)
        return 0;
    mp.mp_state = KVM_MP_STATE_UNINITIALIZED;
    if (ioctl(fd, KVM_SET_MP_STATE, &mp) < 0) {
        snprintf(err, errlen, "KVM_SET_MP_STATE on vCPU %u: %s", index, strerror(errno));
        return -1;
    }
    return 0;
}

static int set_cpuid(const struct vmm_kvm *k, int fd, unsigned index, unsigned cpus,
                     char *err, size_t errlen)
{
    struct kvm_cpuid2 *cpuid = vmm_kvm_vcpu_cpuid(k, index, cpus);
    int rc = cpuid ? ioctl(fd, KVM_SET_CPUID2, cpuid) : -1;

    if (rc < 0)
        snprintf(err, errlen, "KVM_SET_CPUID2 on vCPU %u: %s", index,
                 cpuid ? strerror(errno) : "out of memory");
    free(cpuid);
    return rc < 0 ? -1 : 0;
}

int vmm_kvm_vcpu_open(const struct vmm_kvm *k, const struct vmm_vm *vm, unsigned index,
                      unsigned cpus, int *fd, struct kvm_run **run, char *err, size_t errlen)
{
    int vfd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)index);
    void *r;

    if (vfd < 0) {
        snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", index, strerror(errno));
        return -1;
    }
    r = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vfd, 0);
    if (r == MAP_FAILED) {
        snprintf(err, errlen, "mmap of vCPU %u's kvm_run: %s", index, strerror(errno));
        close(vfd);
        return -1;
    }
    if (set_cpuid(k, vfd, index, cpus, err, errlen) < 0 ||
        (index != 0 && park_ap(vfd, index, err, errlen) < 0)) {
        vmm_kvm_vcpu_close(k, vfd, r);
        return -1;
    }
    *fd = vfd;
    *run = r;
    return 0;
}

void vmm_kvm_vcpu_close(const struct vmm_kvm *k, int fd, struct kvm_run *run)
{
    if (run)
        munmap(run, k->run_size);
    if (fd >= 0)
        close(fd);
}

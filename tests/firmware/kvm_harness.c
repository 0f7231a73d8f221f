/*
 * Minimal KVM harness for firmware and guest tests (see kvm_harness.h).
 */
#define _GNU_SOURCE
#include "kvm_harness.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <libfdt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct hx_vcpu {
    struct hx_vm *vm;
    int index;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
};

struct hx_vm {
    int kvm_fd, vm_fd;
    int cpus;
    uint64_t mem_size;
    uint8_t *ram;
    uint8_t *rom;
    size_t run_size;
    struct hx_vcpu vcpu[HX_MAX_CPUS];

    pthread_mutex_t lock;            /* protects res and stopping */
    pthread_cond_t done;
    bool stopping;
    struct hx_result *res;
    hx_hypercall_hook hook;          /* hypercalls the harness does not know */
    void *hook_ctx;
};

static void errf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

int hx_test_start(const char *name, const char *usage, int argc, char **argv)
{
    bool inner = argc == 4 && strcmp(argv[3], "--no-sandbox") == 0;
    if (argc != 3 && !inner) {
        fprintf(stderr, "usage: %s %s [--no-sandbox]\n", argv[0], usage);
        return 2;
    }
    const char *why = NULL;
    if (sandbox_kvm_usable(&why))
        return -1;
    if (inner) {
        printf("%s: /dev/kvm cannot be opened even inside the sandbox (%s)\n", name, why);
        return 1;
    }
    printf("%s: /dev/kvm cannot be opened (%s); running inside the sandbox\n", name, why);
    fflush(stdout);
    return sandbox_run(argc, argv);
}

void *hx_ram(struct hx_vm *vm, uint64_t gpa, uint64_t len)
{
    if (gpa > vm->mem_size || len > vm->mem_size - gpa)
        return NULL;
    return vm->ram + gpa;
}

/* CPUID from KVM, with APIC IDs = vCPU index and x2APIC advertised. */
static int set_cpuid(struct hx_vm *vm, struct hx_vcpu *v, char *err, size_t errlen)
{
    int n = 256;
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
    if (!c)
        return errf(err, errlen, "out of memory"), -1;
    c->nent = n;
    if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
        errf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
        free(c);
        return -1;
    }
    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == 1) {
            e->ebx = (e->ebx & 0x0000ffff) | ((uint32_t)v->index << 24) |
                     ((uint32_t)vm->cpus << 16);
            e->ecx |= 1u << 21;              /* x2APIC */
        } else if (e->function == 0xb || e->function == 0x1f) {
            e->edx = (uint32_t)v->index;
        }
    }
    int rc = ioctl(v->fd, KVM_SET_CPUID2, c);
    free(c);
    if (rc < 0)
        return errf(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno)), -1;
    return 0;
}

static int read_file(const char *path, void *buf, size_t size, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errf(err, errlen, "%s: %s", path, strerror(errno)), -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || (size_t)st.st_size != size) {
        close(fd);
        return errf(err, errlen, "%s: must be exactly %zu bytes", path, size), -1;
    }
    ssize_t got = read(fd, buf, size);
    close(fd);
    if (got != (ssize_t)size)
        return errf(err, errlen, "%s: short read", path), -1;
    return 0;
}

struct hx_vm *hx_create(int cpus, uint64_t mem_size, const char *rom_path,
                        char *err, size_t errlen)
{
    if (cpus < 1 || cpus > HX_MAX_CPUS || mem_size % (2u << 20) ||
        mem_size < (4u << 20) || mem_size > VMM_MAX_RAM) {
        errf(err, errlen, "bad cpus %d or mem_size %#llx", cpus,
             (unsigned long long)mem_size);
        return NULL;
    }
    struct hx_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return errf(err, errlen, "out of memory"), NULL;
    vm->kvm_fd = vm->vm_fd = -1;
    vm->cpus = cpus;
    vm->mem_size = mem_size;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->done, NULL);
    for (int i = 0; i < HX_MAX_CPUS; i++)
        vm->vcpu[i].fd = -1;

    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        errf(err, errlen, "/dev/kvm: %s", strerror(errno));
        goto fail;
    }
    if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0 ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
        errf(err, errlen, "KVM API version or a capability is missing");
        goto fail;
    }
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        errf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
        goto fail;
    }
    vm->ram = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    vm->rom = mmap(NULL, VMM_FW_ROM_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (vm->ram == MAP_FAILED || vm->rom == MAP_FAILED) {
        vm->ram = vm->rom = NULL;
        errf(err, errlen, "mmap guest memory: %s", strerror(errno));
        goto fail;
    }
    if (read_file(rom_path, vm->rom, VMM_FW_ROM_SIZE, err, errlen) < 0)
        goto fail;
    struct kvm_userspace_memory_region ram = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = mem_size,
        .userspace_addr = (uintptr_t)vm->ram };
    struct kvm_userspace_memory_region rom = {
        .slot = 1, .flags = KVM_MEM_READONLY, .guest_phys_addr = VMM_FW_ROM_ADDR,
        .memory_size = VMM_FW_ROM_SIZE, .userspace_addr = (uintptr_t)vm->rom };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &ram) < 0 ||
        ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &rom) < 0 ||
        ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        errf(err, errlen, "memory slots / irqchip: %s", strerror(errno));
        goto fail;
    }
    int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0) {
        errf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE failed");
        goto fail;
    }
    vm->run_size = (size_t)run_size;
    for (int i = 0; i < cpus; i++) {
        struct hx_vcpu *v = &vm->vcpu[i];
        v->vm = vm;
        v->index = i;
        v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
        if (v->fd < 0) {
            errf(err, errlen, "KVM_CREATE_VCPU %d: %s", i, strerror(errno));
            goto fail;
        }
        v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
        if (v->run == MAP_FAILED) {
            v->run = NULL;
            errf(err, errlen, "mmap kvm_run: %s", strerror(errno));
            goto fail;
        }
        if (set_cpuid(vm, v, err, errlen) < 0)
            goto fail;
    }
    return vm;
fail:
    hx_destroy(vm);
    return NULL;
}

void hx_destroy(struct hx_vm *vm)
{
    if (!vm)
        return;
    for (int i = 0; i < HX_MAX_CPUS; i++) {
        if (vm->vcpu[i].run)
            munmap(vm->vcpu[i].run, vm->run_size);
        if (vm->vcpu[i].fd >= 0)
            close(vm->vcpu[i].fd);
    }
    if (vm->ram)
        munmap(vm->ram, vm->mem_size);
    if (vm->rom)
        munmap(vm->rom, VMM_FW_ROM_SIZE);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    pthread_mutex_destroy(&vm->lock);
    pthread_cond_destroy(&vm->done);
    free(vm);
}

int hx_load_elf(struct hx_vm *vm, const char *path, uint64_t *entry,
                uint64_t *image_end, char *err, size_t errlen)
{
    int rc = -1;
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errf(err, errlen, "%s: %s", path, strerror(errno)), -1;
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    GElf_Ehdr eh;
    size_t nph;
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
        eh.e_type != ET_EXEC || elf_getphdrnum(e, &nph) != 0) {
        errf(err, errlen, "%s: not an ELF64 x86-64 executable", path);
        goto out;
    }
    uint64_t end = 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph)) {
            errf(err, errlen, "%s: bad program header %zu", path, i);
            goto out;
        }
        if (ph.p_type != PT_LOAD)
            continue;
        uint8_t *dst = hx_ram(vm, ph.p_paddr, ph.p_memsz);
        if (!dst || ph.p_filesz > ph.p_memsz || ph.p_paddr < VMM_KERNEL_MIN_ADDR) {
            errf(err, errlen, "%s: segment %zu [%#lx, +%#lx) outside RAM above 1 MiB",
                 path, i, (unsigned long)ph.p_paddr, (unsigned long)ph.p_memsz);
            goto out;
        }
        if (pread(fd, dst, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz) {
            errf(err, errlen, "%s: short segment %zu", path, i);
            goto out;
        }
        memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
        if (ph.p_paddr + ph.p_memsz > end)
            end = ph.p_paddr + ph.p_memsz;
    }
    *entry = eh.e_entry;
    *image_end = end;
    rc = 0;
out:
    if (e)
        elf_end(e);
    close(fd);
    return rc;
}

#define FDT_TRY(x) do { if ((x) < 0) goto fdt_fail; } while (0)

int hx_build_fdt(struct hx_vm *vm, const char *bootargs, uint32_t abi_version,
                 uint32_t hypercall_port, uint64_t kernel_start,
                 uint64_t kernel_end, char *err, size_t errlen)
{
    return hx_build_fdt_cpus(vm, bootargs, abi_version, hypercall_port, kernel_start,
                             kernel_end, vm->cpus, NULL, err, errlen);
}

int hx_build_fdt_cpus(struct hx_vm *vm, const char *bootargs, uint32_t abi_version,
                      uint32_t hypercall_port, uint64_t kernel_start, uint64_t kernel_end,
                      int fdt_cpus, const uint32_t *apic_ids, char *err, size_t errlen)
{
    void *fdt = hx_ram(vm, VMM_FDT_ADDR, VMM_FDT_MAX_SIZE);
    char name[32];
    FDT_TRY(fdt_create(fdt, VMM_FDT_MAX_SIZE));
    FDT_TRY(fdt_add_reservemap_entry(fdt, 0, VMM_KERNEL_MIN_ADDR));
    FDT_TRY(fdt_add_reservemap_entry(fdt, kernel_start, kernel_end - kernel_start));
    FDT_TRY(fdt_finish_reservemap(fdt));
    FDT_TRY(fdt_begin_node(fdt, ""));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
    FDT_TRY(fdt_property_string(fdt, "compatible", VMM_FDT_COMPATIBLE));

    FDT_TRY(fdt_begin_node(fdt, "memory@0"));
    FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
    fdt64_t reg[2] = { cpu_to_fdt64(0), cpu_to_fdt64(vm->mem_size) };
    FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "cpus"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 1));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 0));
    for (int i = 0; i < fdt_cpus; i++) {
        snprintf(name, sizeof(name), "cpu@%x", i);
        FDT_TRY(fdt_begin_node(fdt, name));
        FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
        FDT_TRY(fdt_property_u32(fdt, "reg", apic_ids ? apic_ids[i] : (uint32_t)i));
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "chosen"));
    FDT_TRY(fdt_property_string(fdt, "bootargs", bootargs));
    FDT_TRY(fdt_property_string(fdt, "stdout-path", "/uart@3f8"));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "reserved-memory"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
    FDT_TRY(fdt_property(fdt, "ranges", NULL, 0));
    snprintf(name, sizeof(name), "kernel@%llx", (unsigned long long)kernel_start);
    FDT_TRY(fdt_begin_node(fdt, name));
    fdt64_t kreg[2] = { cpu_to_fdt64(kernel_start), cpu_to_fdt64(kernel_end - kernel_start) };
    FDT_TRY(fdt_property(fdt, "reg", kreg, sizeof(kreg)));
    FDT_TRY(fdt_end_node(fdt));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "vmm"));
    FDT_TRY(fdt_property_string(fdt, "compatible", VMM_FDT_HYPERCALL_COMPAT));
    FDT_TRY(fdt_property_u32(fdt, "abi-version", abi_version));
    FDT_TRY(fdt_property_u32(fdt, "hypercall-port", hypercall_port));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_end_node(fdt));
    FDT_TRY(fdt_finish(fdt));
    return (int)fdt_totalsize(fdt);
fdt_fail:
    errf(err, errlen, "building the FDT failed");
    return -1;
}

void hx_set_hypercall_hook(struct hx_vm *vm, hx_hypercall_hook fn, void *ctx)
{
    vm->hook = fn;
    vm->hook_ctx = ctx;
}

void hx_write_handoff(struct hx_vm *vm, const struct vmm_boot_handoff *h)
{
    memcpy(hx_ram(vm, VMM_BOOT_HANDOFF_ADDR, sizeof(*h)), h, sizeof(*h));
}

/* ---- running ---------------------------------------------------------- */

static void console_put(struct hx_result *r, const char *s, size_t n)
{
    size_t room = HX_CONSOLE_MAX - 1 - r->console_len;
    if (n > room)
        n = room;
    memcpy(r->console + r->console_len, s, n);
    r->console_len += n;
    r->console[r->console_len] = '\0';
}

/* Ends the run (first end wins) and kicks every vCPU out of KVM_RUN.
 * Requires vm->lock held. */
static void end_run_locked(struct hx_vm *vm, int cpu, enum hx_end end)
{
    if (vm->stopping)
        return;
    __atomic_store_n(&vm->stopping, true, __ATOMIC_SEQ_CST); /* vCPU threads poll it */
    vm->res->end = end;
    vm->res->end_cpu = cpu;
    for (int i = 0; i < vm->cpus; i++) {
        struct hx_vcpu *v = &vm->vcpu[i];
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        if (v->thread_started)
            pthread_kill(v->thread, SIGUSR1);
    }
    pthread_cond_broadcast(&vm->done);
}

static bool gpa_ok(struct hx_vm *vm, uint64_t gpa, uint64_t len)
{
    return len <= VMM_HC_MAX_LEN && gpa <= vm->mem_size && len <= vm->mem_size - gpa;
}

static void copy_str(struct hx_vm *vm, char *dst, size_t dstlen, uint64_t gpa, uint64_t len)
{
    if (len >= dstlen)
        len = dstlen - 1;
    memcpy(dst, vm->ram + gpa, len);
    dst[len] = '\0';
}

/* One hypercall; returns the value for rax. Requires vm->lock held. */
static int64_t hypercall(struct hx_vcpu *v, struct kvm_regs *r)
{
    struct hx_vm *vm = v->vm;
    struct hx_result *res = vm->res;
    switch ((uint32_t)r->rax) {
    case VMM_HC_PRINT:
        if (!gpa_ok(vm, r->rdi, r->rsi))
            return -VMM_EINVAL;
        console_put(res, (char *)vm->ram + r->rdi, r->rsi);
        return 0;
    case VMM_HC_EXIT:
        res->status = r->rdi;
        end_run_locked(vm, v->index, HX_END_EXIT);
        return 0;
    case VMM_HC_ASSERT_FAIL:
        if (!gpa_ok(vm, r->rdi, r->rsi) || !gpa_ok(vm, r->r8, r->r9))
            return -VMM_EINVAL;
        copy_str(vm, res->assert_file, sizeof(res->assert_file), r->rdi, r->rsi);
        copy_str(vm, res->assert_msg, sizeof(res->assert_msg), r->r8, r->r9);
        res->assert_line = r->rcx;
        end_run_locked(vm, v->index, HX_END_ASSERT);
        return 0;
    case VMM_HC_TEST_RESULT:
        if (!gpa_ok(vm, r->rdi, r->rsi))
            return -VMM_EINVAL;
        if (r->rcx)
            res->tests_passed++;
        else
            res->tests_failed++;
        return 0;
    case VMM_HC_EXCEPTION:
        if (r->rsi != sizeof(struct vmm_exception_report) || !gpa_ok(vm, r->rdi, r->rsi))
            return -VMM_EINVAL;
        memcpy(&res->exception, vm->ram + r->rdi, sizeof(res->exception));
        end_run_locked(vm, v->index, HX_END_EXCEPTION);
        return 0;
    case VMM_HC_CPU_ONLINE:
        if (r->rdi >= HX_MAX_CPUS)
            return -VMM_EINVAL;
        res->online_mask |= 1ull << r->rdi;
        res->online_apic[r->rdi] = (uint32_t)r->rsi;
        res->online_calls++;
        return 0;
    default:
        if (vm->hook) {
            const uint64_t args[5] = { r->rdi, r->rsi, r->rcx, r->r8, r->r9 };
            return vm->hook(vm->hook_ctx, v->index, (uint32_t)r->rax, args);
        }
        return -VMM_ENOSYS;
    }
}

static void handle_io(struct hx_vcpu *v)
{
    struct hx_vm *vm = v->vm;
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    size_t bytes = (size_t)run->io.size * run->io.count;
    uint16_t port = run->io.port;

    pthread_mutex_lock(&vm->lock);
    if (port >= VMM_COM1_PORT && port < VMM_COM1_PORT + 8) {
        if (run->io.direction == KVM_EXIT_IO_OUT && port == VMM_COM1_PORT)
            console_put(vm->res, (char *)data, bytes);
        else if (run->io.direction == KVM_EXIT_IO_IN)
            memset(data, port == VMM_COM1_PORT + 5 ? 0x60 : 0, bytes); /* LSR: THRE|TEMT */
    } else if (port == VMM_HYPERCALL_PORT && run->io.direction == KVM_EXIT_IO_OUT) {
        struct kvm_regs r;
        if (ioctl(v->fd, KVM_GET_REGS, &r) == 0) {
            int64_t ret = hypercall(v, &r);
            if (ret < 0)
                vm->res->bad_hypercalls++;
            r.rax = (uint64_t)ret;
            ioctl(v->fd, KVM_SET_REGS, &r);
        }
    } else if (port == HX_PROBE_PORT && run->io.direction == KVM_EXIT_IO_OUT) {
        struct hx_probe *p = &vm->res->probe[v->index];
        p->taken = ioctl(v->fd, KVM_GET_REGS, &p->regs) == 0 &&
                   ioctl(v->fd, KVM_GET_SREGS, &p->sregs) == 0;
    } else if (run->io.direction == KVM_EXIT_IO_IN) {
        memset(data, 0xff, bytes);
    }
    pthread_mutex_unlock(&vm->lock);
}

static void fail_run(struct hx_vcpu *v, enum hx_end end, const char *fmt, ...)
{
    struct hx_vm *vm = v->vm;
    pthread_mutex_lock(&vm->lock);
    if (!vm->stopping) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(vm->res->error, sizeof(vm->res->error), fmt, ap);
        va_end(ap);
    }
    end_run_locked(vm, v->index, end);
    pthread_mutex_unlock(&vm->lock);
}

static void *vcpu_thread(void *arg)
{
    struct hx_vcpu *v = arg;
    struct kvm_run *run = v->run;
    for (;;) {
        int rc = ioctl(v->fd, KVM_RUN, 0);
        if (__atomic_load_n(&v->vm->stopping, __ATOMIC_SEQ_CST))
            break;
        if (rc < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            fail_run(v, HX_END_ERROR, "KVM_RUN: %s", strerror(errno));
            break;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            handle_io(v);
            break;
        case KVM_EXIT_SHUTDOWN:
            fail_run(v, HX_END_SHUTDOWN, "shutdown (triple fault)");
            return NULL;
        case KVM_EXIT_MMIO:
            fail_run(v, HX_END_ERROR, "MMIO %s at %#llx",
                     run->mmio.is_write ? "write" : "read",
                     (unsigned long long)run->mmio.phys_addr);
            return NULL;
        default:
            fail_run(v, HX_END_ERROR, "unexpected exit reason %u", run->exit_reason);
            return NULL;
        }
    }
    return NULL;
}

static void on_sigusr1(int sig)
{
    (void)sig;
}

int hx_run(struct hx_vm *vm, unsigned timeout_s, struct hx_result *res)
{
    memset(res, 0, sizeof(*res));
    vm->res = res;
    struct sigaction sa = { .sa_handler = on_sigusr1 };
    sigaction(SIGUSR1, &sa, NULL);

    int rc = 0;
    pthread_mutex_lock(&vm->lock);
    for (int i = 0; i < vm->cpus; i++) {
        if (pthread_create(&vm->vcpu[i].thread, NULL, vcpu_thread, &vm->vcpu[i]) != 0) {
            snprintf(res->error, sizeof(res->error), "pthread_create failed");
            end_run_locked(vm, i, HX_END_ERROR);
            rc = -1;
            break;
        }
        vm->vcpu[i].thread_started = true;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;
    while (!vm->stopping) {
        if (pthread_cond_timedwait(&vm->done, &vm->lock, &deadline) == ETIMEDOUT) {
            end_run_locked(vm, -1, HX_END_TIMEOUT);
            break;
        }
    }
    pthread_mutex_unlock(&vm->lock);
    for (int i = 0; i < vm->cpus; i++) {
        if (vm->vcpu[i].thread_started)
            pthread_join(vm->vcpu[i].thread, NULL);
        vm->vcpu[i].thread_started = false;
    }
    return rc;
}

int hx_translate(struct hx_vm *vm, int cpu, uint64_t gva, uint64_t *gpa, bool *writeable)
{
    struct kvm_translation t = { .linear_address = gva };
    if (cpu < 0 || cpu >= vm->cpus || ioctl(vm->vcpu[cpu].fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
        return -1;
    *gpa = t.physical_address;
    *writeable = t.writeable;
    return 0;
}

int hx_boot_guest(const char *rom, const char *elf, int cpus, uint64_t mem,
                  const char *bootargs, unsigned timeout_s,
                  struct hx_result *res, char *err, size_t errlen)
{
    struct hx_vm *vm = hx_create(cpus, mem, rom, err, errlen);
    if (!vm)
        return -1;
    uint64_t entry, end;
    int fdt_size;
    if (hx_load_elf(vm, elf, &entry, &end, err, errlen) < 0 ||
        (fdt_size = hx_build_fdt(vm, bootargs, VMM_ABI_VERSION, VMM_HYPERCALL_PORT,
                                 VMM_KERNEL_MIN_ADDR, end, err, errlen)) < 0) {
        hx_destroy(vm);
        return -1;
    }
    struct vmm_boot_handoff h = {
        .magic = VMM_BOOT_MAGIC, .abi_version = VMM_ABI_VERSION, .size = sizeof(h),
        .kernel_entry = entry, .fdt_addr = VMM_FDT_ADDR, .fdt_size = (uint64_t)fdt_size,
        .mem_size = mem };
    hx_write_handoff(vm, &h);
    int rc = hx_run(vm, timeout_s, res);
    hx_destroy(vm);
    return rc;
}

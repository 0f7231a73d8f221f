/* The minimal KVM program that vmm --bench times as its lower bound. */
#include "kvm_floor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_MEM 0x10000ull   /* one slot at guest-physical 0 */
#define FLOOR_PORT 0x10

struct floor_state {
    int kvm, vm, vcpu;
    void *mem;
    struct kvm_run *run;
    size_t run_size;
};

static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "KVM lower bound: %s: %s", what, strerror(errno));
    return -1;
}

/* Everything up to the first exit; the steps a guest start cannot skip. */
static int floor_run(struct floor_state *s, char *err, size_t errlen)
{
    static const uint8_t code[] = { 0xb0, 42, 0xe6, FLOOR_PORT, 0xf4 };  /* mov al; out; hlt */

    if ((s->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
        return fail(err, errlen, "open /dev/kvm");
    if ((s->vm = ioctl(s->kvm, KVM_CREATE_VM, 0)) < 0)
        return fail(err, errlen, "KVM_CREATE_VM");
    /* Real mode without unrestricted guest needs a TSS area (Intel); harmless elsewhere. */
    if (ioctl(s->vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
        return fail(err, errlen, "KVM_SET_TSS_ADDR");
    if (ioctl(s->vm, KVM_CREATE_IRQCHIP, 0) < 0)
        return fail(err, errlen, "KVM_CREATE_IRQCHIP");
    s->mem = mmap(NULL, FLOOR_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->mem == MAP_FAILED) {
        s->mem = NULL;
        return fail(err, errlen, "mmap guest memory");
    }
    memcpy(s->mem, code, sizeof(code));
    struct kvm_userspace_memory_region slot = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = FLOOR_MEM,
        .userspace_addr = (uintptr_t)s->mem,
    };
    if (ioctl(s->vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return fail(err, errlen, "KVM_SET_USER_MEMORY_REGION");
    if ((s->vcpu = ioctl(s->vm, KVM_CREATE_VCPU, 0)) < 0)
        return fail(err, errlen, "KVM_CREATE_VCPU");
    int size = ioctl(s->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size <= 0)
        return fail(err, errlen, "KVM_GET_VCPU_MMAP_SIZE");
    s->run_size = (size_t)size;
    s->run = mmap(NULL, s->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->vcpu, 0);
    if (s->run == MAP_FAILED) {
        s->run = NULL;
        return fail(err, errlen, "mmap kvm_run");
    }
    struct kvm_sregs sregs;
    if (ioctl(s->vcpu, KVM_GET_SREGS, &sregs) < 0)
        return fail(err, errlen, "KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(s->vcpu, KVM_SET_SREGS, &sregs) < 0)
        return fail(err, errlen, "KVM_SET_SREGS");
    struct kvm_regs regs = { .rip = 0, .rflags = 2 };
    if (ioctl(s->vcpu, KVM_SET_REGS, &regs) < 0)
        return fail(err, errlen, "KVM_SET_REGS");
    while (ioctl(s->vcpu, KVM_RUN, 0) < 0)
        if (errno != EINTR && errno != EAGAIN)
            return fail(err, errlen, "KVM_RUN");
    if (s->run->exit_reason != KVM_EXIT_IO || s->run->io.port != FLOOR_PORT) {
        snprintf(err, errlen, "KVM lower bound: first exit is reason %u, not the OUT to port 0x%x",
                 s->run->exit_reason, FLOOR_PORT);
        return -1;
    }
    return 0;
}

static void floor_close(struct floor_state *s)
{
    if (s->run)
        munmap(s->run, s->run_size);
    if (s->vcpu >= 0)
        close(s->vcpu);
    if (s->vm >= 0)
        close(s->vm);
    if (s->mem)
        munmap(s->mem, FLOOR_MEM);
    if (s->kvm >= 0)
        close(s->kvm);
}

int vmm_kvm_floor_measure(struct vmm_kvm_floor *f, char *err, size_t errlen)
{
    struct floor_state s = { .kvm = -1, .vm = -1, .vcpu = -1 };
    struct timespec t0, t1, t2;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = floor_run(&s, err, errlen);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    floor_close(&s);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    f->to_first_exit_ms = ms_between(&t0, &t1);
    f->teardown_ms = ms_between(&t1, &t2);
    return rc;
}

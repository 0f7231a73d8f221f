/*
 * sandbox_probe: a small stand-in for `vmm` that proves the sandbox's
 * machinery independently of the real VMM. With --sandbox it calls
 * sandbox_run() as vmm's runner does, with a request built from its own
 * options (its input file, its log's directory); the inner copy (which gets
 * --no-sandbox) runs a real KVM guest: a few real-mode instructions that
 * write a byte to an I/O port and halt. Options (all optional):
 *   --status N     the guest writes N (0..255) and the probe exits with it
 *   --echo-args    first print every argument except --sandbox/--no-sandbox
 *                  as "arg[i]=<...>" (checks argv quoting)
 *   --read FILE    print FILE's contents (checks input copying)
 *   --log FILE     also write the stdout transcript to FILE (output copying)
 *   --hang         print nothing and sleep forever (silence watchdog)
 *   --kmsg-noise   with --hang: write a kernel log line every second (the
 *                  L1 console keeps talking; the silence watchdog must not
 *                  take that for progress)
 *   --sleep S      sleep S seconds before exiting (signal tests)
 *   --kill-self    inside the sandbox only: die of SIGKILL (as from L1's
 *                  out-of-memory killer)
 *   --verbose      passed through to the sandbox
 */
#include "sandbox.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXIT_VMM_ERROR 5   /* VMM_EXIT_VMM_ERROR */
#define PROBE_PORT 0x10

static FILE *logf_;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (logf_) {
        va_start(ap, fmt);
        vfprintf(logf_, fmt, ap);
        va_end(ap);
    }
}

/* Runs "mov $status, %al; out %al, $0x10; hlt" in real mode; returns the
 * byte the guest wrote, or -1 after printing why. */
static int run_guest(int status)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        fprintf(stderr, "probe: /dev/kvm: %s\n", strerror(errno));
        return -1;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    int rc = -1;
    unsigned char *mem = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (vm < 0 || mem == MAP_FAILED) {
        fprintf(stderr, "probe: KVM_CREATE_VM: %s\n", strerror(errno));
        goto out_kvm;
    }
    const unsigned char code[] = {0xb0, (unsigned char)status, 0xe6, PROBE_PORT, 0xf4};
    memcpy(mem + 0x1000, code, sizeof code);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = 0x2000, .userspace_addr = (uintptr_t)mem,
    };
    int vcpu = -1;
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
        (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0) {
        fprintf(stderr, "probe: KVM setup: %s\n", strerror(errno));
        goto out_vm;
    }
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs sregs;
    if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
        fprintf(stderr, "probe: vCPU setup: %s\n", strerror(errno));
        goto out_vcpu;
    }
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
        fprintf(stderr, "probe: register setup: %s\n", strerror(errno));
        goto out_run;
    }
    int said = -1;
    for (int steps = 0; steps < 16; steps++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            fprintf(stderr, "probe: KVM_RUN: %s\n", strerror(errno));
            break;
        }
        if (run->exit_reason == KVM_EXIT_IO && run->io.port == PROBE_PORT &&
            run->io.direction == KVM_EXIT_IO_OUT) {
            said = ((unsigned char *)run)[run->io.data_offset];
        } else if (run->exit_reason == KVM_EXIT_HLT) {
            rc = said;
            break;
        } else {
            fprintf(stderr, "probe: unexpected exit reason %u\n", run->exit_reason);
            break;
        }
    }
out_run:
    munmap(run, (size_t)run_size);
out_vcpu:
    close(vcpu);
out_vm:
    if (mem != MAP_FAILED)
        munmap(mem, 0x2000);
    if (vm >= 0)
        close(vm);
out_kvm:
    close(kvm);
    return rc;
}

static int print_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "probe: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    char buf[4096];
    size_t n;
    out("probe: contents of %s:\n", path);
    while ((n = fread(buf, 1, sizeof buf - 1, f)) > 0) {
        buf[n] = '\0';
        out("%s", buf);
    }
    fclose(f);
    return 0;
}

/* The request vmm's runner would build: inputs and output directory named
 * by the options, the same arguments minus --sandbox plus --no-sandbox. */
static int run_sandboxed(int argc, char **argv, const char *read, const char *log,
                         bool verbose)
{
    char **inner = calloc((size_t)argc + 2, sizeof(*inner)), dir[4096] = ".";
    const char *inputs[1] = { read }, *outdirs[1] = { dir };
    int n = 0;

    if (!inner)
        return EXIT_VMM_ERROR;
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--sandbox") != 0)
            inner[n++] = argv[i];
    inner[n++] = "--no-sandbox";
    const char *slash = log ? strrchr(log, '/') : NULL;
    if (slash == log && slash)
        snprintf(dir, sizeof(dir), "/");
    else if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - log), log);
    struct sandbox_request rq = {
        .verbose = verbose, .inputs = inputs, .ninputs = read ? 1 : 0,
        .outdirs = outdirs, .noutdirs = 1, .argc = n, .argv = inner,
    };
    int status = sandbox_run(&rq);
    free(inner);
    return status;
}

int main(int argc, char **argv)
{
    int status = 0;
    bool echo = false, hang = false, sandbox = false, noise = false, kill_self = false;
    bool verbose = false;
    const char *log = NULL, *read = NULL;
    unsigned sleep_s = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--sandbox") == 0)
            sandbox = true;
        else if (strcmp(a, "--echo-args") == 0)
            echo = true;
        else if (strcmp(a, "--hang") == 0)
            hang = true;
        else if (strcmp(a, "--kmsg-noise") == 0)
            noise = true;
        else if (strcmp(a, "--status") == 0 && i + 1 < argc)
            status = atoi(argv[++i]) & 0xff;
        else if (strcmp(a, "--log") == 0 && i + 1 < argc)
            log = argv[++i];
        else if (strcmp(a, "--read") == 0 && i + 1 < argc)
            read = argv[++i];
        else if (strcmp(a, "--sleep") == 0 && i + 1 < argc)
            sleep_s = (unsigned)atoi(argv[++i]);
        else if (strcmp(a, "--kill-self") == 0)
            kill_self = true;
        else if (strcmp(a, "--verbose") == 0)
            verbose = true;
    }
    if (sandbox)
        return run_sandboxed(argc, argv, read, log, verbose);
    if (kill_self && sandbox_kvm_usable(NULL))
        raise(SIGKILL);

    if (log && !(logf_ = fopen(log, "w"))) {
        fprintf(stderr, "probe: cannot write %s: %s\n", log, strerror(errno));
        return EXIT_VMM_ERROR;
    }
    int rc = status;
    if (echo)
        for (int i = 1, k = 0; i < argc; i++)
            if (strcmp(argv[i], "--sandbox") != 0 && strcmp(argv[i], "--no-sandbox") != 0)
                out("arg[%d]=<%s>\n", k++, argv[i]);
    if (hang) {
        int kmsg = noise ? open("/dev/kmsg", O_WRONLY | O_CLOEXEC) : -1;
        if (noise && kmsg < 0)
            fprintf(stderr, "probe: /dev/kmsg: %s\n", strerror(errno));
        for (;;) {
            static const char line[] = "<3>probe: kernel log noise\n";
            if (kmsg >= 0 && write(kmsg, line, sizeof line - 1) < 0)
                fprintf(stderr, "probe: /dev/kmsg: %s\n", strerror(errno));
            if (kmsg >= 0)
                sleep(1);
            else
                pause();
        }
    } else {
        int said = run_guest(status);
        if (said < 0)
            rc = EXIT_VMM_ERROR;
        else
            out("probe: guest wrote %d to port 0x%x\n", said, PROBE_PORT);
        fprintf(stderr, "probe: this line goes to stderr\n");
    }
    if (read && print_file(read) != 0)
        rc = EXIT_VMM_ERROR;
    if (sleep_s)
        sleep(sleep_s);
    if (logf_)
        fclose(logf_);
    return rc;
}

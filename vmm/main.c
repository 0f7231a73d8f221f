/*
 * vmm: boots a bare x86-64 guest on KVM (docs/vmm.md). main() only parses
 * the command line; runner.c decides what runs and where.
 */
#include <stdio.h>
#include <time.h>

#include "options.h"
#include "out.h"
#include "runner.h"
#include "abi/vmm.h"

int main(int argc, char **argv)
{
    struct timespec start;
    struct vmm_options opts;
    char err[512];

    clock_gettime(CLOCK_MONOTONIC, &start);
    if (vmm_options_parse(argc, argv, &opts, err, sizeof(err)) < 0) {
        vmm_errf("vmm: error: %s\n", err);
        return VMM_EXIT_USAGE;
    }
    if (opts.help) {
        fputs(vmm_options_usage(), stdout);
        return VMM_EXIT_PASSED;
    }
    if (opts.version) {
        printf("vmm %s (guest ABI version %u)\n", VMM_VERSION, VMM_ABI_VERSION);
        return VMM_EXIT_PASSED;
    }
    return vmm_runner_main(&opts, argc, argv, &start);
}

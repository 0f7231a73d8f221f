/* Concurrency test (label concurrency, run under TSan in CI): several vCPU
 * threads issue hypercalls and console writes at once, as they do in the
 * VMM. Every line must come out whole, attributed to its CPU, and every
 * counter must add up. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "console.h"
#include "hypercall.h"
#include "out.h"
#include "uart.h"
#include "abi/vmm.h"

#define CPUS 4
#define ROUNDS 300
#define MEM (1ull << 20)

static uint8_t *ram;
static struct vmm_console con;
static struct vmm_hc_ctx ctx;
static struct vmm_uart uart;

static void *cpu_thread(void *arg)
{
    unsigned cpu = (unsigned)(uintptr_t)arg;
    uint64_t buf = 0x1000 + cpu * 0x1000;   /* this CPU's own guest buffer */
    struct vmm_hc_result r;

    for (unsigned i = 0; i < ROUNDS; i++) {
        int n = snprintf((char *)ram + buf, 64, "cpu%u hypercall line %u\n", cpu, i);
        struct vmm_hc_call c = { cpu, VMM_HC_PRINT, { buf, (uint64_t)n, 0, 0, 0 } };
        vmm_hc_dispatch(&ctx, &c, &r);
        if (r.ret != 0)
            return (void *)1;
        c = (struct vmm_hc_call){ cpu, VMM_HC_TEST_RESULT, { buf, 4, 1, 0, 0 } };
        vmm_hc_dispatch(&ctx, &c, &r);
        if (r.ret != 0)
            return (void *)1;
        /* a UART line, byte by byte, interleaved with the other CPUs' */
        char line[48];
        int m = snprintf(line, sizeof(line), "cpu%u uart line %u\n", cpu, i);
        for (int k = 0; k < m; k++) {
            uint8_t b = (uint8_t)line[k];
            vmm_uart_access(&uart, cpu, VMM_COM1_PORT, true, &b);
        }
        c = (struct vmm_hc_call){ cpu, VMM_HC_CPU_ONLINE, { cpu, cpu, 0, 0, 0 } };
        vmm_hc_dispatch(&ctx, &c, &r);
    }
    return NULL;
}

START_TEST(parallel_cpus)
{
    pthread_t t[CPUS];
    FILE *log = tmpfile();
    char line[256];
    unsigned lines[CPUS] = { 0 };

    ram = calloc(1, MEM);
    ck_assert_ptr_nonnull(log);
    vmm_out_set_log(log);
    /* Not quiet: the lines go to stdout and to the log, which is checked. */
    ck_assert_int_eq(vmm_console_init(&con, CPUS, true, false), 0);
    ctx = (struct vmm_hc_ctx){ .ram = ram, .mem_size = MEM, .cpus = CPUS, .console = &con };
    uart.console = &con;
    for (unsigned i = 0; i < CPUS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, cpu_thread, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < CPUS; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        ck_assert_ptr_null(rv);
    }
    vmm_console_destroy(&con);
    vmm_out_set_log(NULL);

    ck_assert_uint_eq(ctx.tests_passed, CPUS * ROUNDS);
    ck_assert_uint_eq(ctx.tests_failed, 0);
    ck_assert_uint_eq(ctx.online_mask, (1u << CPUS) - 1);
    ck_assert(ctx.cpu0_online);
    rewind(log);
    while (fgets(line, sizeof(line), log)) {
        unsigned p, c, i;
        char kind[16];
        if (strstr(line, "guest test"))
            continue;
        /* every console line whole and attributed to the CPU that wrote it */
        ck_assert_msg(sscanf(line, "[cpu%u] cpu%u %15s line %u", &p, &c, kind, &i) == 4,
                      "mangled line: %s", line);
        ck_assert_uint_eq(p, c);
        ck_assert_uint_lt(c, CPUS);
        lines[c]++;
    }
    for (unsigned i = 0; i < CPUS; i++)
        ck_assert_uint_eq(lines[i], 2 * ROUNDS);
    fclose(log);
    free(ram);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("vmm_concurrency", "core", 120,
                        parallel_cpus)

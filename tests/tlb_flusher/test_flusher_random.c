/*
 * Randomised runs of the flusher on simulated CPUs: map / unmap / protect /
 * activate sequences on 2, 4 and 8 CPUs, each fed to the validator, which
 * must find ZERO violations (and accept the stream as well-formed); the
 * simulation must end with no live kept batch and no leaked frame.
 *
 * Usage: tlb_flusher_random [--ops N] [--seed S]
 *   --ops N   operations per CPU configuration (default 3000; CTest: 10000, slow: 100000)
 *   --seed S  base seed (default: from TLB_SEED in the environment, else 1);
 *             each configuration uses seed + its index, printed on failure.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "ack_check.h"
#include "check_stream.h"
#include "workload.h"

static uint64_t g_ops = 3000, g_seed = 1;

static void run_config(unsigned cpus, unsigned spaces, uint64_t seed, unsigned async_pct)
{
    struct sim *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    ck_assert(sim_init(s, cpus, spaces, 16384, seed));
    struct workload_opts o = workload_default_opts(g_ops);
    o.async_unmap_pct = async_pct;
    struct workload_stats st;
    bool ran = workload_run(s, &o, &st);
    bool clean = sim_shutdown(s);
    ck_assert_msg(ran, "workload failed (cpus %u seed %llu)", cpus, (unsigned long long)seed);
    ck_assert_msg(clean, "leak or live batch at shutdown (cpus %u seed %llu)", cpus,
                  (unsigned long long)seed);
    /* The run must have exercised what it claims to. */
    ck_assert_uint_gt(st.maps, 0);
    ck_assert_uint_gt(st.unmaps, 0);
    ck_assert_uint_gt(st.protects, 0);
    ck_assert_uint_gt(st.activations, 0);
    uint64_t ipis = 0;
    for (unsigned c = 0; c < cpus; c++)
        ipis += s->cpu[c].ipis;
    ck_assert_uint_gt(ipis, 0);
    ck_assert_uint_gt(st.nested, 0);   /* other CPUs ran while one spun */
    ck_assert_uint_gt(st.huge_maps, 0); /* 2 MiB leaves over 4 KiB ones: break-before-make (R4) */
    /* Our own check first: kept frames freed only after every target acked. */
    struct ack_check_result ac;
    ck_assert(ack_check(s, &ac, stderr));
    ck_assert_uint_gt(ac.frees_checked, 0);
    ck_assert_msg(ac.violations == 0, "%llu frees before every target flushed (first at event %llu), cpus %u seed %llu",
                  (unsigned long long)ac.violations, (unsigned long long)ac.first_bad_seq, cpus,
                  (unsigned long long)seed);
    struct stream_verdict vd;
    ck_assert(check_stream(s, &vd, stderr, 5));
    printf("{\"test\":\"tlb_flusher_random\",\"cpus\":%u,\"seed\":%llu,\"ops\":%llu,\"events\":%zu,"
           "\"ipis\":%llu,\"nested_ops\":%llu,\"huge_maps\":%llu,\"kept_frees_checked\":%llu,\"violations\":%llu,\"classes\":\"%s\"}\n",
           cpus, (unsigned long long)seed, (unsigned long long)g_ops, s->nr_ev, (unsigned long long)ipis,
           (unsigned long long)st.nested, (unsigned long long)st.huge_maps, (unsigned long long)ac.frees_checked,
           (unsigned long long)vd.violations, class_list(vd.classes));
    fflush(stdout);
    ck_assert_msg(vd.verdict != TLB_VERDICT_BAD_INPUT, "validator rejected the stream (cpus %u seed %llu): %s",
                  cpus, (unsigned long long)seed, vd.error);
    ck_assert_msg(vd.violations == 0, "%llu violations (%s) on cpus %u seed %llu",
                  (unsigned long long)vd.violations, class_list(vd.classes), cpus, (unsigned long long)seed);
    sim_destroy(s);
    free(s);
}

START_TEST(random_2_cpus) { run_config(2, 2, g_seed, 0); }
END_TEST
START_TEST(random_4_cpus) { run_config(4, 3, g_seed + 1, 0); }
END_TEST
START_TEST(random_8_cpus) { run_config(8, 4, g_seed + 2, 0); }
END_TEST

static bool parse_args(int argc, char **argv)
{
    const char *env = getenv("TLB_SEED");
    if (env)
        g_seed = strtoull(env, NULL, 0);
    for (int i = 1; i < argc; i++) {
        char *end;
        if (i + 1 >= argc)
            goto bad;
        uint64_t v = strtoull(argv[i + 1], &end, 0);
        if (*end || end == argv[i + 1])
            goto bad;
        if (!strcmp(argv[i], "--ops"))
            g_ops = v;
        else if (!strcmp(argv[i], "--seed"))
            g_seed = v;
        else
            goto bad;
        i++;
        continue;
    bad: {
        char why[160];
        snprintf(why, sizeof(why), "bad argument '%s'", argv[i]);
        check_usage(argv[0], "[--ops N] [--seed S]", why);
        return false;
    }
    }
    return true;
}

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!parse_args(argc, argv))
        return CHECK_EXIT_USAGE;
    printf("tlb_flusher_random: %llu ops per configuration, base seed %llu\n", (unsigned long long)g_ops,
           (unsigned long long)g_seed);
    Suite *su = suite_create("tlb_flusher_random");
    TCase *t = tcase_create("random");
    tcase_set_timeout(t, 0);
    tcase_add_test(t, random_2_cpus);
    tcase_add_test(t, random_4_cpus);
    tcase_add_test(t, random_8_cpus);
    suite_add_tcase(su, t);
    check_plan_add(plan, su);
    return CHECK_RUN;
}

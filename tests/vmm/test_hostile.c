/* Randomised hostile-input test (deterministic seeds): mutated guest images
 * and random hypercall arguments must only ever be accepted or refused with
 * a message, never crash or touch memory they should not (ASan in CI). */
#include <check.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "console.h"
#include "elf_image.h"
#include "hypercall.h"
#include "out.h"
#include "abi/vmm.h"

#define MEM (16ull << 20)

static uint64_t rng_state;

static uint64_t rnd(void)      /* xorshift64*: reproducible everywhere */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* A value that is often on a boundary: 0, 1, RAM size +-, 2^64-1, ... */
static uint64_t edgy(void)
{
    static const uint64_t edges[] = { 0, 1, 8, 4095, 4096, 4097, MEM - 1, MEM, MEM + 1,
                                      MEM - 4096, UINT64_MAX, UINT64_MAX - 4095,
                                      1ull << 63, 0xffffffffull, 0x100000, 0x200000 };
    return rnd() % 3 ? edges[rnd() % (sizeof(edges) / sizeof(edges[0]))] : rnd();
}

static uint8_t good[0x3000];
static size_t good_size;

static void make_good(void)
{
    Elf64_Ehdr *e = (Elf64_Ehdr *)good;
    Elf64_Phdr *p = (Elf64_Phdr *)(good + sizeof(*e));

    memcpy(e->e_ident, ELFMAG, SELFMAG);
    e->e_ident[EI_CLASS] = ELFCLASS64;
    e->e_ident[EI_DATA] = ELFDATA2LSB;
    e->e_ident[EI_VERSION] = EV_CURRENT;
    e->e_type = ET_EXEC;
    e->e_machine = EM_X86_64;
    e->e_version = EV_CURRENT;
    e->e_entry = 0x200000;
    e->e_phoff = sizeof(*e);
    e->e_ehsize = sizeof(*e);
    e->e_phentsize = sizeof(*p);
    e->e_phnum = 2;
    p[0] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_X, 0x1000, 0x200000, 0x200000, 0x800, 0x800, 0x1000 };
    p[1] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_W, 0x2000, 0x201000, 0x201000, 0x800, 0x3000, 0x1000 };
    memset(good + 0x1000, 0x90, 0x800);
    memset(good + 0x2000, 0x11, 0x800);
    good_size = 0x2800;
}

START_TEST(mutated_images)
{
    static uint8_t img[sizeof(good)];
    uint8_t *ram = malloc(MEM);
    char err[512];
    unsigned accepted = 0, refused = 0;

    make_good();
    rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
    for (unsigned n = 0; n < 4000; n++) {
        struct vmm_elf_image e;
        size_t size = good_size;

        memcpy(img, good, sizeof(img));
        /* overwrite a few header fields (the first 0xb0 bytes: ehdr+phdrs)
         * with boundary values, or flip random bytes, or truncate */
        for (unsigned k = 1 + rnd() % 3; k; k--) {
            uint64_t v = edgy();
            size_t off = rnd() % (0xb0 - 8);
            switch (rnd() % 3) {
            case 0: memcpy(img + off, &v, 8); break;
            case 1: img[rnd() % 0xb0] ^= (uint8_t)(1u << (rnd() % 8)); break;
            case 2: size = rnd() % good_size; break;
            }
        }
        if (vmm_elf_parse("m.elf", img, size, MEM, &e, err, sizeof(err)) == 0) {
            /* accepted: loading must stay inside RAM (ASan checks) */
            vmm_elf_load(&e, ram);
            ck_assert_uint_ge(e.lo, VMM_KERNEL_MIN_ADDR);
            ck_assert_uint_le(e.hi, MEM);
            accepted++;
        } else {
            ck_assert_msg(strncmp(err, "m.elf: ", 7) == 0, "message without file: %s", err);
            refused++;
        }
    }
    ck_assert_uint_gt(refused, 0);
    ck_assert_uint_gt(accepted, 0);     /* some mutations are harmless */
    free(ram);
}
END_TEST

START_TEST(random_hypercalls)
{
    uint8_t *ram = calloc(1, MEM);
    struct vmm_console con;
    struct vmm_hc_ctx ctx;
    FILE *sink = tmpfile();

    ck_assert_ptr_nonnull(sink);
    vmm_out_set_log(sink);
    ck_assert_int_eq(vmm_console_init(&con, 2, true, true), 0);
    ctx = (struct vmm_hc_ctx){ .ram = ram, .mem_size = MEM, .cpus = 2, .console = &con };
    rng_state = 0x1234567ull + (uint64_t)_i;
    for (unsigned n = 0; n < 20000; n++) {
        struct vmm_hc_call c = { (unsigned)(rnd() % 2), rnd() % 3 ? rnd() % 9 : rnd(),
                                 { edgy(), edgy() % 5 ? edgy() : rnd() % 300, edgy(),
                                   edgy(), edgy() } };
        struct vmm_hc_result r;

        vmm_hc_dispatch(&ctx, &c, &r);
        ck_assert_msg(r.ret == 0 || r.ret == -VMM_EINVAL || r.ret == -VMM_ENOSYS,
                      "nr %llu returned %lld", (unsigned long long)c.nr, (long long)r.ret);
        if ((uint32_t)c.nr > VMM_HC_CHECKPOINT || (uint32_t)c.nr == 0)
            ck_assert_int_eq(r.ret, -VMM_ENOSYS);
        if (r.stop)
            ck_assert(r.status == VMM_EXIT_PASSED || r.status == VMM_EXIT_GUEST_FAILED ||
                      r.status == VMM_EXIT_GUEST_CRASH);
    }
    vmm_console_destroy(&con);
    vmm_out_set_log(NULL);
    fclose(sink);
    free(ram);
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    Suite *s = suite_create("vmm_hostile");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, mutated_images, 0, 4);
    tcase_add_loop_test(tc, random_hypercalls, 0, 2);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}

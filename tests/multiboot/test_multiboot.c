/* Unit tests: the multiboot header search (vmm/multiboot.c), module
 * placement, the information structure written into a RAM buffer, ELF32
 * kernels (vmm/elf_image.c), the isa-debug-exit device (debug_exit.c) and
 * the fw_cfg device (fw_cfg.c). */
#include <check.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "debug_exit.h"
#include "elf_image.h"
#include "fw_cfg.h"
#include "multiboot.h"
#include "options.h"
#include "pc_testdev.h"
#include "abi/vmm.h"

#define MEM (32ull << 20)

static uint8_t img[16384];
static char err[512];

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void header_at(size_t off, uint32_t flags, uint32_t sum_delta)
{
    put32(img + off, VMM_MB_HEADER_MAGIC);
    put32(img + off + 4, flags);
    put32(img + off + 8, 0u - VMM_MB_HEADER_MAGIC - flags + sum_delta);
}

START_TEST(header_found_and_checked)
{
    struct vmm_mb_header h;

    memset(img, 0, sizeof(img));
    ck_assert_int_eq(vmm_mb_find("k", img, sizeof(img), &h, err, sizeof(err)), 0);
    header_at(0x1000, 3, 0);
    ck_assert_int_eq(vmm_mb_find("k", img, sizeof(img), &h, err, sizeof(err)), 1);
    ck_assert_uint_eq(h.offset, 0x1000);
    ck_assert_uint_eq(h.flags, 3);
    /* optional bits (17-31) are ignored */
    header_at(0x1000, 3 | (1u << 20), 0);
    ck_assert_int_eq(vmm_mb_find("k", img, sizeof(img), &h, err, sizeof(err)), 1);
}
END_TEST

START_TEST(header_search_limits)
{
    struct vmm_mb_header h;

    /* beyond the first 8 KiB: not a multiboot image */
    memset(img, 0, sizeof(img));
    header_at(8192, 0, 0);
    ck_assert_int_eq(vmm_mb_find("k", img, sizeof(img), &h, err, sizeof(err)), 0);
    /* not 4-byte aligned: not a header */
    memset(img, 0, sizeof(img));
    header_at(0x102, 0, 0);
    ck_assert_int_eq(vmm_mb_find("k", img, sizeof(img), &h, err, sizeof(err)), 0);
    /* a stray magic with a bad sum before the real header is skipped */
    memset(img, 0, sizeof(img));
    header_at(0x100, 0, 5);
    header_at(0x200, 0, 0);
    ck_assert_int_eq(vmm_mb_find("k", img, sizeof(img), &h, err, sizeof(err)), 1);
    ck_assert_uint_eq(h.offset, 0x200);
    /* truncated: the file ends inside the header */
    memset(img, 0, sizeof(img));
    header_at(0x100, 0, 0);
    ck_assert_int_eq(vmm_mb_find("k", img, 0x108, &h, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "k: multiboot header at offset 256 is truncated"));
}
END_TEST

static const struct { uint32_t flags, delta; const char *msg; } bad_headers[] = {
    { 3, 1, "bad checksum" },
    { 7, 0, "video mode (bit 2)" },
    { 3 | (1u << 16), 0, "bit 16, the a.out kludge" },
    { 3 | (1u << 15), 0, "required bit(s) 0x8000 that vmm does not know" },
    { 1u << 3, 0, "required bit(s) 0x0008" },
};

START_TEST(bad_header_refused)
{
    struct vmm_mb_header h;

    memset(img, 0, sizeof(img));
    header_at(0x40, bad_headers[_i].flags, bad_headers[_i].delta);
    ck_assert_int_eq(vmm_mb_find("kern", img, sizeof(img), &h, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, bad_headers[_i].msg) && strstr(err, "kern: multiboot header at "
                  "offset 64"), "message: %s", err);
}
END_TEST

static struct vmm_elf_image image_at(uint64_t lo, uint64_t hi)
{
    struct vmm_elf_image i;

    memset(&i, 0, sizeof(i));
    i.lo = lo;
    i.hi = hi;
    return i;
}

START_TEST(modules_placed_after_the_kernel)
{
    struct vmm_elf_image k = image_at(0x200000, 0x203000);
    uint8_t d[10] = { 0 };
    struct vmm_mb_module m[3] = {
        { "a", NULL, d, 5, 0 }, { "b", "x y", d, 0x1001, 0 }, { "c", NULL, d, 1, 0 },
    };

    ck_assert_int_eq(vmm_mb_place_modules(&k, MEM, m, 3, err, sizeof(err)), 0);
    ck_assert_uint_eq(m[0].addr, 0x203000);
    ck_assert_uint_eq(m[1].addr, 0x204000);
    ck_assert_uint_eq(m[2].addr, 0x206000);     /* 0x1001 bytes take two pages */
    m[2].size = MEM;                           /* cannot fit */
    ck_assert_int_eq(vmm_mb_place_modules(&k, MEM, m, 3, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "module c") && strstr(err, "does not fit in guest RAM (32 MiB)"),
                  "%s", err);
    m[0].size = UINT64_MAX - 0x100;            /* no overflow */
    ck_assert_int_eq(vmm_mb_place_modules(&k, MEM, m, 1, err, sizeof(err)), -1);
    /* a kernel below 1 MiB: its modules still go above 1 MiB */
    k = image_at(0x8000, 0xe000);
    m[0].size = 5;
    ck_assert_int_eq(vmm_mb_place_modules(&k, MEM, m, 1, err, sizeof(err)), 0);
    ck_assert_uint_eq(m[0].addr, 0x100000);
}
END_TEST

START_TEST(module_spec_split)
{
    char buf[64];
    const char *path, *args;

    ck_assert_int_eq(vmm_mb_split_module("f.bin", buf, sizeof(buf), &path, &args, err,
                                         sizeof(err)), 0);
    ck_assert_str_eq(path, "f.bin");
    ck_assert_ptr_null(args);
    ck_assert_int_eq(vmm_mb_split_module("f.bin,a=1,b c", buf, sizeof(buf), &path, &args, err,
                                         sizeof(err)), 0);
    ck_assert_str_eq(path, "f.bin");
    ck_assert_str_eq(args, "a=1,b c");
    ck_assert_int_eq(vmm_mb_split_module(",x", buf, sizeof(buf), &path, &args, err,
                                         sizeof(err)), -1);
    ck_assert_int_eq(vmm_mb_split_module("long", buf, 3, &path, &args, err, sizeof(err)), -1);
}
END_TEST

static const char *str_at(const uint8_t *ram, uint32_t addr)
{
    ck_assert_uint_lt(addr, VMM_MB_AREA_END);
    ck_assert_uint_ge(addr, VMM_MB_AREA_ADDR);
    return (const char *)ram + addr;
}

START_TEST(info_structure_written)
{
    uint8_t *ram = calloc(1, MEM);
    struct vmm_mb_module m[2] = {
        { "/x/env", "A=1", (const uint8_t *)"NR_CPUS=2\n", 10, 0x300000 },
        { "mod2", NULL, (const uint8_t *)"zz", 2, 0x301000 },
    };
    struct vmm_mb_boot b = { "/k/kernel.elf", "a b", m, 2 };
    const uint8_t *info;
    uint32_t mods, mmap;

    ck_assert_ptr_nonnull(ram);
    ck_assert_int_eq(vmm_mb_write_info(ram, MEM, &b, err, sizeof(err)), 0);
    info = ram + VMM_MB_INFO_ADDR;
    ck_assert_uint_eq(get32(info + VMM_MB_INFO_FLAGS), 0x24d);
    ck_assert_uint_eq(get32(info + VMM_MB_INFO_MEM_LOWER), 639);
    ck_assert_uint_eq(get32(info + VMM_MB_INFO_MEM_UPPER), (MEM - (1u << 20)) / 1024);
    ck_assert_str_eq(str_at(ram, get32(info + VMM_MB_INFO_CMDLINE)), "/k/kernel.elf a b");
    ck_assert_str_eq(str_at(ram, get32(info + VMM_MB_INFO_LOADER_NAME)), "vmm");
    ck_assert_uint_eq(get32(info + VMM_MB_INFO_MODS_COUNT), 2);
    mods = get32(info + VMM_MB_INFO_MODS_ADDR);
    ck_assert_uint_eq(get32(ram + mods), 0x300000);
    ck_assert_uint_eq(get32(ram + mods + 4), 0x30000a);
    ck_assert_str_eq(str_at(ram, get32(ram + mods + 8)), "/x/env A=1");
    ck_assert_uint_eq(get32(ram + mods + 16), 0x301000);
    ck_assert_str_eq(str_at(ram, get32(ram + mods + 24)), "mod2");
    ck_assert_mem_eq(ram + 0x300000, "NR_CPUS=2\n", 10);
    /* memory map: 3 entries of 24 bytes, RAM above 1 MiB up to MEM */
    ck_assert_uint_eq(get32(info + VMM_MB_INFO_MMAP_LENGTH), 72);
    mmap = get32(info + VMM_MB_INFO_MMAP_ADDR);
    ck_assert_uint_eq(get32(ram + mmap + 48), 20);
    ck_assert_uint_eq(get32(ram + mmap + 48 + 4), 0x100000);
    ck_assert_uint_eq(get32(ram + mmap + 48 + 12), MEM - 0x100000);
    ck_assert_uint_eq(get32(ram + mmap + 48 + 20), 1);
    ck_assert_uint_eq(get32(ram + mmap + 24 + 20), 2);
    /* the flat GDT the entry selectors come from */
    ck_assert_uint_eq(get32(ram + VMM_MB_GDT_ADDR + 8 + 4), 0x00cf9b00);
    ck_assert_uint_eq(get32(ram + VMM_MB_GDT_ADDR + 16 + 4), 0x00cf9300);
    free(ram);
}
END_TEST

START_TEST(info_area_overflow_refused)
{
    uint8_t *ram = calloc(1, MEM);
    static char longarg[VMM_MB_AREA_END];
    struct vmm_mb_module m = { "m", longarg, (const uint8_t *)"x", 1, 0x300000 };
    struct vmm_mb_boot b = { "k", "", &m, 1 };

    ck_assert_ptr_nonnull(ram);
    memset(longarg, 'a', sizeof(longarg) - 1);
    ck_assert_int_eq(vmm_mb_write_info(ram, MEM, &b, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "do not fit"));
    free(ram);
}
END_TEST

/* A minimal ELF32 EM_386 executable: one RX segment at 2 MiB. */
static size_t make_elf32(uint8_t *f, uint16_t machine, uint32_t paddr)
{
    Elf32_Ehdr *e = (Elf32_Ehdr *)f;
    Elf32_Phdr *p = (Elf32_Phdr *)(f + sizeof(*e));

    memset(f, 0, 0x200);
    memcpy(e->e_ident, ELFMAG, SELFMAG);
    e->e_ident[EI_CLASS] = ELFCLASS32;
    e->e_ident[EI_DATA] = ELFDATA2LSB;
    e->e_ident[EI_VERSION] = EV_CURRENT;
    e->e_type = ET_EXEC;
    e->e_machine = machine;
    e->e_version = EV_CURRENT;
    e->e_entry = paddr;
    e->e_phoff = sizeof(*e);
    e->e_ehsize = sizeof(*e);
    e->e_phentsize = sizeof(*p);
    e->e_phnum = 1;
    p->p_type = PT_LOAD;
    p->p_offset = 0x100;
    p->p_vaddr = p->p_paddr = paddr;
    p->p_filesz = 0x100;
    p->p_memsz = 0x2000;
    p->p_flags = PF_R | PF_X;
    return 0x200;
}

START_TEST(elf32_kernels)
{
    uint8_t f[0x200];
    struct vmm_elf_image i;
    size_t n = make_elf32(f, EM_386, 0x200000);

    ck_assert_int_eq(vmm_elf_parse_flags("k", f, n, MEM, VMM_ELF_ALLOW_I386, &i, err,
                                         sizeof(err)), 0);
    ck_assert_uint_eq(i.entry, 0x200000);
    ck_assert_uint_eq(i.nseg, 1);
    ck_assert_uint_eq(i.hi, 0x202000);
    /* without the flag (the vmm ABI) it stays refused */
    ck_assert_int_eq(vmm_elf_parse("k", f, n, MEM, &i, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a 64-bit ELF"));
    n = make_elf32(f, EM_ARM, 0x200000);
    ck_assert_int_eq(vmm_elf_parse_flags("k", f, n, MEM, VMM_ELF_ALLOW_I386, &i, err,
                                         sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "need EM_386"));
    n = make_elf32(f, EM_386, MEM);          /* outside RAM */
    ck_assert_int_eq(vmm_elf_parse_flags("k", f, n, MEM, VMM_ELF_ALLOW_I386, &i, err,
                                         sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "lies outside guest RAM"));
    /* below 1 MiB: only with VMM_ELF_LOW_MEMORY, and never in page 0 */
    n = make_elf32(f, EM_386, 0x8000);
    ck_assert_int_eq(vmm_elf_parse_flags("k", f, n, MEM, VMM_ELF_ALLOW_I386, &i, err,
                                         sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "is below 0x100000"));
    ck_assert_int_eq(vmm_elf_parse_flags("k", f, n, MEM, VMM_ELF_ALLOW_I386 | VMM_ELF_LOW_MEMORY,
                                         &i, err, sizeof(err)), 0);
    ck_assert_int_eq(vmm_mb_check_image("k", &i, err, sizeof(err)), 0);
    n = make_elf32(f, EM_386, 0);
    ck_assert_int_eq(vmm_elf_parse_flags("k", f, n, MEM, VMM_ELF_ALLOW_I386 | VMM_ELF_LOW_MEMORY,
                                         &i, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "is below 0x1000"));
    /* over vmm's boot information area */
    n = make_elf32(f, EM_386, VMM_MB_AREA_ADDR - 0x1000);
    ck_assert_int_eq(vmm_elf_parse_flags("k", f, n, MEM, VMM_ELF_ALLOW_I386 | VMM_ELF_LOW_MEMORY,
                                         &i, err, sizeof(err)), 0);
    ck_assert_int_eq(vmm_mb_check_image("k", &i, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "overlaps vmm's multiboot boot information area"));
}
END_TEST

START_TEST(debug_exit_device)
{
    struct vmm_debug_exit d = vmm_debug_exit_default();

    ck_assert(vmm_debug_exit_owns(&d, 0xf4));
    ck_assert(vmm_debug_exit_owns(&d, 0xf7));
    ck_assert(!vmm_debug_exit_owns(&d, 0xf8));
    ck_assert(!vmm_debug_exit_owns(&d, 0xf3));
    ck_assert_int_eq(vmm_debug_exit_parse("0x604,2", &d, err, sizeof(err)), 0);
    ck_assert(d.enabled && d.port == 0x604 && d.size == 2);
    ck_assert_int_eq(vmm_debug_exit_parse("244", &d, err, sizeof(err)), 0);
    ck_assert(d.port == 0xf4 && d.size == 4);
    ck_assert_int_eq(vmm_debug_exit_parse("off", &d, err, sizeof(err)), 0);
    ck_assert(!vmm_debug_exit_owns(&d, 0xf4));
    ck_assert_int_eq(vmm_debug_exit_parse("0xfffe,4", &d, err, sizeof(err)), -1);
    ck_assert_int_eq(vmm_debug_exit_parse("0x10000", &d, err, sizeof(err)), -1);
    ck_assert_int_eq(vmm_debug_exit_parse("0xf4,8", &d, err, sizeof(err)), -1);
    ck_assert_int_eq(vmm_debug_exit_parse("0xzz", &d, err, sizeof(err)), -1);
    ck_assert_int_eq(vmm_debug_exit_parse("0x4fe,4", &d, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "hypercall port"));
    ck_assert_int_eq(vmm_debug_exit_status(0), VMM_EXIT_PASSED);
    ck_assert_int_eq(vmm_debug_exit_status(1), VMM_EXIT_GUEST_FAILED);
    ck_assert_int_eq(vmm_debug_exit_status(VMM_DEBUG_EXIT_KUT_SKIP), VMM_EXIT_GUEST_FAILED);
    ck_assert_ptr_nonnull(strstr(vmm_debug_exit_meaning(38), "skipped"));
}
END_TEST

static uint64_t fw_read(struct vmm_fw_cfg *f, uint16_t item, unsigned bytes)
{
    uint8_t sel[2] = { (uint8_t)item, (uint8_t)(item >> 8) };
    uint64_t v = 0;

    vmm_fw_cfg_access(f, VMM_FW_CFG_PORT_SEL, true, sel, 2);
    for (unsigned i = 0; i < bytes; i++) {
        uint8_t b = 0xaa;
        vmm_fw_cfg_access(f, VMM_FW_CFG_PORT_DATA, false, &b, 1);
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

START_TEST(fw_cfg_items)
{
    struct vmm_fw_cfg f;

    vmm_fw_cfg_init(&f, true, MEM, 3);
    ck_assert(vmm_fw_cfg_owns(&f, 0x510) && vmm_fw_cfg_owns(&f, 0x511));
    ck_assert(!vmm_fw_cfg_owns(&f, 0x512));
    ck_assert_uint_eq(fw_read(&f, VMM_FW_CFG_SIGNATURE, 4), 0x554d4551);   /* "QEMU" */
    ck_assert_uint_eq(fw_read(&f, VMM_FW_CFG_NB_CPUS, 2), 3);
    ck_assert_uint_eq(fw_read(&f, VMM_FW_CFG_MAX_CPUS, 2), 3);
    ck_assert_uint_eq(fw_read(&f, VMM_FW_CFG_RAM_SIZE, 8), MEM);
    ck_assert_uint_eq(fw_read(&f, 0x19, 4), 0);                  /* unknown item */
    ck_assert_uint_eq(fw_read(&f, VMM_FW_CFG_NB_CPUS, 4), 3);    /* past the end: 0 */
    vmm_fw_cfg_destroy(&f);
    vmm_fw_cfg_init(&f, false, MEM, 3);
    ck_assert(!vmm_fw_cfg_owns(&f, 0x510));
    vmm_fw_cfg_destroy(&f);
}
END_TEST

START_TEST(module_and_debug_exit_options)
{
    struct vmm_options o;
    char *ok[] = { "vmm", "--guest", "k", "--module", "a,x y", "--module=b", "--debug-exit",
                   "0x501" };
    char *many[40] = { "vmm", "--guest", "k" };
    int n = 3;

    ck_assert_int_eq(vmm_options_parse(8, ok, &o, err, sizeof(err)), -1);   /* 0x501: hypercall */
    ck_assert_ptr_nonnull(strstr(err, "--debug-exit"));
    ok[7] = "0x604,1";
    ck_assert_int_eq(vmm_options_parse(8, ok, &o, err, sizeof(err)), 0);
    ck_assert_uint_eq(o.nmodules, 2);
    ck_assert_str_eq(o.modules[0], "a,x y");
    ck_assert_str_eq(o.modules[1], "b");
    ck_assert_str_eq(o.debug_exit, "0x604,1");
    for (int i = 0; i < 17; i++) {
        many[n++] = "--module";
        many[n++] = "m";
    }
    ck_assert_int_eq(vmm_options_parse(n, many, &o, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "more than 16 modules"));
    ck_assert_int_eq(vmm_options_parse(n - 2, many, &o, err, sizeof(err)), 0);
    ck_assert_uint_eq(o.nmodules, 16);
}
END_TEST

START_TEST(testdev_window)
{
    static uint8_t mem[VMM_TESTDEV_IOMEM_SIZE];
    uint8_t w[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, r[8] = { 0 };

    ck_assert(vmm_testdev_iomem(mem, VMM_TESTDEV_IOMEM_ADDR + 0xfff8, true, w, 8));
    ck_assert(vmm_testdev_iomem(mem, VMM_TESTDEV_IOMEM_ADDR + 0xfff8, false, r, 8));
    ck_assert_mem_eq(r, w, 8);
    ck_assert(!vmm_testdev_iomem(mem, VMM_TESTDEV_IOMEM_ADDR + 0xfffc, true, w, 8));  /* straddles */
    ck_assert(!vmm_testdev_iomem(mem, VMM_TESTDEV_IOMEM_ADDR - 1, false, r, 1));
    ck_assert(!vmm_testdev_iomem(mem, VMM_TESTDEV_IOMEM_ADDR + VMM_TESTDEV_IOMEM_SIZE, false, r, 1));
    ck_assert(vmm_testdev_owns(0x2000) && vmm_testdev_owns(0x2017) && !vmm_testdev_owns(0x2018));
    {
        uint32_t reg = 0;
        uint8_t b = 0x99, wv[2] = { 0x34, 0x12 }, rv[4] = { 0 };
        vmm_testdev_ioport(&reg, true, wv, 2);
        vmm_testdev_ioport(&reg, false, rv, 4);
        ck_assert_uint_eq(reg, 0x1234);
        ck_assert(rv[0] == 0x34 && rv[1] == 0x12 && rv[2] == 0);
        vmm_testdev_ioport(&reg, true, &b, 1);         /* a byte write replaces it all */
        ck_assert_uint_eq(reg, 0x99);
        ck_assert(vmm_testdev_ioport_owns(0xe0) && vmm_testdev_ioport_owns(0xe3));
        ck_assert(!vmm_testdev_ioport_owns(0xe4) && !vmm_testdev_ioport_owns(0xdf));
    }
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    Suite *s = suite_create("vmm_multiboot");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, header_found_and_checked);
    tcase_add_test(tc, header_search_limits);
    tcase_add_loop_test(tc, bad_header_refused, 0, sizeof(bad_headers) / sizeof(bad_headers[0]));
    tcase_add_test(tc, modules_placed_after_the_kernel);
    tcase_add_test(tc, module_spec_split);
    tcase_add_test(tc, info_structure_written);
    tcase_add_test(tc, info_area_overflow_refused);
    tcase_add_test(tc, elf32_kernels);
    tcase_add_test(tc, debug_exit_device);
    tcase_add_test(tc, fw_cfg_items);
    tcase_add_test(tc, module_and_debug_exit_options);
    tcase_add_test(tc, testdev_window);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}

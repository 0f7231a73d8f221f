/*
 * firmware_rom_layout: static checks of the firmware image that need no
 * KVM (so they run everywhere, under ASan too): the flat ROM and its ELF
 * agree, the reset vector jumps to the real-mode entry, every GDT
 * descriptor the CPU loads from the ROM or the trampoline has its accessed
 * bit preset (a CPU write to the read-only ROM would be an MMIO exit), the
 * trampoline fits below the mailbox, and its position-fixed GDT pointer
 * is right for the copy at VMM_AP_TRAMPOLINE_ADDR.
 *
 * Usage: test_rom_layout <firmware.bin> <firmware.elf>
 */
#include <check.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "abi/vmm.h"

static uint8_t rom[VMM_FW_ROM_SIZE + 1];
static size_t rom_len;
static const char *elf_path;

/* The value of symbol `name` in firmware.elf (local symbols included). */
static uint64_t sym(const char *name)
{
    int fd = open(elf_path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    ck_assert_ptr_nonnull(e);
    uint64_t value = 0;
    bool found = false;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn)) != NULL;) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        if (sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym s;
            gelf_getsym(d, (int)i, &s);
            if (strcmp(elf_strptr(e, sh.sh_link, s.st_name), name) == 0) {
                value = s.st_value;
                found = true;
            }
        }
    }
    elf_end(e);
    close(fd);
    ck_assert_msg(found, "symbol %s not in %s", name, elf_path);
    return value;
}

/* ROM bytes at linear address `addr`. */
static const uint8_t *at(uint64_t addr, size_t len)
{
    ck_assert(addr >= VMM_FW_ROM_ADDR && addr + len <= VMM_FW_ROM_ADDR + VMM_FW_ROM_SIZE);
    return rom + (addr - VMM_FW_ROM_ADDR);
}

static uint64_t u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

START_TEST(size_and_reset_vector)
{
    ck_assert_uint_eq(rom_len, VMM_FW_ROM_SIZE);
    ck_assert_uint_eq(sym("reset_vector"), 0xfffffff0);
    const uint8_t *v = at(0xfffffff0, 16);
    ck_assert_uint_eq(v[0], 0xe9);                           /* jmp rel16 */
    uint16_t target = (uint16_t)(0xfff3 + u16(v + 1));       /* IP wraps in 16 bits */
    ck_assert_uint_eq(VMM_FW_ROM_ADDR + target, sym("real_start"));
    for (int i = 3; i < 16; i++)
        ck_assert_uint_eq(v[i], 0xf4);                       /* hlt padding */
}
END_TEST

/* Each non-null descriptor: present, accessed bit set, flat base 0. */
static void check_gdt(const uint8_t *gdt, size_t bytes)
{
    ck_assert_uint_eq(u64(gdt), 0);
    for (size_t off = 8; off < bytes; off += 8) {
        uint64_t d = u64(gdt + off);
        ck_assert_msg(d >> 47 & 1, "descriptor %zu not present", off);
        ck_assert_msg(d >> 40 & 1, "descriptor %zu lacks the accessed bit: %#llx", off,
                      (unsigned long long)d);
        ck_assert_uint_eq((d >> 16) & 0xffffff, 0);
        ck_assert_uint_eq(d >> 56, 0);
    }
}

START_TEST(rom_gdt)
{
    uint64_t gdt = sym("rom_gdt"), desc = sym("rom_gdt_desc");
    const uint8_t *d = at(desc, 6);
    ck_assert_uint_eq(u32(d + 2), gdt);                      /* base: linear ROM address */
    check_gdt(at(gdt, u16(d) + 1u), u16(d) + 1u);
    ck_assert_uint_eq(u16(d) + 1u, 4 * 8);
}
END_TEST

START_TEST(trampoline)
{
    uint64_t start = sym("ap_trampoline_start"), size = sym("ap_trampoline_size");
    ck_assert_uint_le(VMM_AP_TRAMPOLINE_ADDR + size, VMM_AP_MAILBOX_ADDR);
    const uint8_t *t = at(start, size);
    ck_assert_uint_eq(t[0], 0xfa);                           /* cli */
    /* The GDT pointer holds the address the GDT has after the copy. */
    uint64_t gdt = sym("tramp_gdt"), desc = sym("tramp_gdt_desc");
    const uint8_t *d = at(desc, 6);
    ck_assert_uint_eq(u32(d + 2), VMM_AP_TRAMPOLINE_ADDR + (gdt - start));
    ck_assert_uint_eq(u16(d) + 1u, 4 * 8);
    check_gdt(at(gdt, 32), 32);
    /* Same selectors as the ROM GDT: identical descriptors. */
    ck_assert_mem_eq(at(gdt, 32), at(sym("rom_gdt"), 32), 32);
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (argc != 3)
        return check_usage(argv[0], "<firmware.bin> <firmware.elf>", NULL);
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return CHECK_EXIT_USAGE;
    }
    rom_len = fread(rom, 1, sizeof(rom), f);
    fclose(f);
    elf_path = argv[2];
    Suite *s = suite_create("firmware_rom_layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, size_and_reset_vector);
    tcase_add_test(tc, rom_gdt);
    tcase_add_test(tc, trampoline);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}

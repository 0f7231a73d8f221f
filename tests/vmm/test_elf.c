/* Unit tests: guest image validation and loading (vmm/elf_image.c) on
 * small ELF files built in memory, one malformed form per case. */
#include <check.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "elf_image.h"
#include "abi/vmm.h"

#define MEM (16ull << 20)
#define TEXT_PADDR 0x200000ull
#define DATA_PADDR 0x201000ull

static uint8_t file[0x3000];
static size_t file_size;
static char err[512];

static Elf64_Ehdr *ehdr(void) { return (Elf64_Ehdr *)file; }
static Elf64_Phdr *phdr(int i) { return (Elf64_Phdr *)(file + sizeof(Elf64_Ehdr)) + i; }

/* A valid image: text (RX) at 2 MiB, data (RW) + bss at 2 MiB + 4 KiB, and
 * a PT_NOTE that must be ignored. */
static void make_good(void)
{
    Elf64_Ehdr *e = ehdr();

    memset(file, 0, sizeof(file));
    memcpy(e->e_ident, ELFMAG, SELFMAG);
    e->e_ident[EI_CLASS] = ELFCLASS64;
    e->e_ident[EI_DATA] = ELFDATA2LSB;
    e->e_ident[EI_VERSION] = EV_CURRENT;
    e->e_type = ET_EXEC;
    e->e_machine = EM_X86_64;
    e->e_version = EV_CURRENT;
    e->e_entry = TEXT_PADDR + 0x10;
    e->e_phoff = sizeof(Elf64_Ehdr);
    e->e_ehsize = sizeof(Elf64_Ehdr);
    e->e_phentsize = sizeof(Elf64_Phdr);
    e->e_phnum = 3;
    *phdr(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000,
                             .p_vaddr = TEXT_PADDR, .p_paddr = TEXT_PADDR,
                             .p_filesz = 0x100, .p_memsz = 0x100, .p_align = 0x1000 };
    *phdr(1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 0x2000,
                             .p_vaddr = DATA_PADDR, .p_paddr = DATA_PADDR,
                             .p_filesz = 0x80, .p_memsz = 0x1000, .p_align = 0x1000 };
    *phdr(2) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x2000, .p_paddr = 0,
                             .p_filesz = 4, .p_memsz = 4 };
    memset(file + 0x1000, 0xc3, 0x100);
    memset(file + 0x2000, 0x5a, 0x80);
    file_size = 0x2080;
}

static int parse(struct vmm_elf_image *img)
{
    return vmm_elf_parse("k.elf", file, file_size, MEM, img, err, sizeof(err));
}

START_TEST(good_image_loads)
{
    struct vmm_elf_image img;
    uint8_t *ram = malloc(MEM);

    make_good();
    ck_assert_msg(parse(&img) == 0, "%s", err);
    ck_assert_uint_eq(img.nseg, 2);
    ck_assert_uint_eq(img.entry, TEXT_PADDR + 0x10);
    ck_assert_uint_eq(img.lo, TEXT_PADDR);
    ck_assert_uint_eq(img.hi, DATA_PADDR + 0x1000);
    memset(ram, 0xaa, MEM);
    vmm_elf_load(&img, ram);
    ck_assert_uint_eq(ram[TEXT_PADDR], 0xc3);
    ck_assert_uint_eq(ram[TEXT_PADDR + 0xff], 0xc3);
    ck_assert_uint_eq(ram[TEXT_PADDR + 0x100], 0xaa);   /* untouched after memsz */
    ck_assert_uint_eq(ram[DATA_PADDR + 0x7f], 0x5a);
    for (size_t i = 0x80; i < 0x1000; i++)               /* bss zeroed */
        ck_assert_uint_eq(ram[DATA_PADDR + i], 0);
    ck_assert_uint_eq(ram[DATA_PADDR - 1], 0xaa);
    free(ram);
}
END_TEST

static long resident_pages(void)
{
    long size = 0, rss = -1;
    FILE *f = fopen("/proc/self/statm", "r");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &rss), 2);
    fclose(f);
    return rss;
}

/* A 100 MiB bss in fresh RAM must not be written (it reads as zero): the
 * host commits no memory for it (inside the sandbox, a guest's RAM larger
 * than L1's once got the inner vmm OOM-killed). */
START_TEST(bss_in_fresh_ram_untouched)
{
    const uint64_t mem = 128ull << 20;
    struct vmm_elf_image img;
    uint8_t *ram = mmap(NULL, mem, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    long before;

    ck_assert_ptr_ne(ram, MAP_FAILED);
    make_good();
    phdr(1)->p_memsz = 100ull << 20;
    ck_assert_msg(vmm_elf_parse("k.elf", file, file_size, mem, &img, err, sizeof(err)) == 0,
                  "%s", err);
    before = resident_pages();
    vmm_elf_load(&img, ram);
    ck_assert_uint_eq(ram[DATA_PADDR + 0x7f], 0x5a);
    ck_assert_msg(resident_pages() - before < (16l << 20) / 4096,
                  "loading committed %ld pages", resident_pages() - before);
    ck_assert_uint_eq(ram[DATA_PADDR + (99ull << 20)], 0);
    munmap(ram, mem);
}
END_TEST

static void bad_magic(void) { file[1] = 'X'; }
static void class32(void) { file[EI_CLASS] = ELFCLASS32; }
static void big_endian(void) { file[EI_DATA] = ELFDATA2MSB; }
static void i386(void) { ehdr()->e_machine = EM_386; }
static void aarch64(void) { ehdr()->e_machine = EM_AARCH64; }
static void pie(void) { ehdr()->e_type = ET_DYN; }
static void relocatable(void) { ehdr()->e_type = ET_REL; }
static void truncated_header(void) { file_size = 40; }
static void truncated_phdrs(void) { file_size = sizeof(Elf64_Ehdr) + 10; }
static void truncated_segment(void) { file_size = 0x2040; }
static void no_phdrs(void) { ehdr()->e_phnum = 0; }
static void bad_phentsize(void) { ehdr()->e_phentsize = 32; }
static void filesz_gt_memsz(void) { phdr(1)->p_memsz = 0x40; }
static void offset_beyond_file(void) { phdr(1)->p_offset = 0x100000; }
static void offset_wraps(void) { phdr(1)->p_offset = UINT64_MAX - 0x10; }
static void outside_ram(void) { phdr(1)->p_paddr = MEM - 0x800; }
static void far_outside_ram(void) { phdr(1)->p_paddr = 0xfffff000; }
static void below_1mib(void) { phdr(1)->p_paddr = VMM_FDT_ADDR; }
static void addr_overflow(void) { phdr(1)->p_paddr = UINT64_MAX - 0x10; }
static void overlap(void) { phdr(1)->p_paddr = TEXT_PADDR + 0x80; }
static void entry_outside(void) { ehdr()->e_entry = 0x300000; }
static void entry_in_data(void) { ehdr()->e_entry = DATA_PADDR + 8; }
static void entry_above_4g(void) { ehdr()->e_entry = 0x100200000ull; }
static void no_load(void) { phdr(0)->p_type = PT_NOTE; phdr(1)->p_type = PT_NOTE; }

static const struct { void (*mutate)(void); const char *msg; } bad[] = {
    { bad_magic, "k.elf: not an ELF file (bad magic)" },
    { class32, "k.elf: not a 64-bit ELF (EI_CLASS 1 = ELFCLASS32)" },
    { big_endian, "k.elf: not little-endian" },
    { i386, "k.elf: wrong architecture (e_machine 3 = EM_386)" },
    { aarch64, "k.elf: wrong architecture (e_machine 183 = EM_AARCH64)" },
    { pie, "k.elf: not an executable (e_type 3 = ET_DYN" },
    { relocatable, "k.elf: not an executable (e_type 1 = ET_REL" },
    { truncated_header, "k.elf: truncated ELF header" },
    { truncated_phdrs, "program header table" },
    { truncated_segment, "segment 1: file range [0x2000, +0x80) lies beyond the end of the file" },
    { no_phdrs, "k.elf: no program headers" },
    { bad_phentsize, "program header table" },
    { filesz_gt_memsz, "segment 1: file size 0x80 exceeds memory size 0x40" },
    { offset_beyond_file, "segment 1: file range [0x100000" },
    { offset_wraps, "beyond the end of the file" },
    { outside_ram, "segment 1: [0xfff800, 0x1000800) lies outside guest RAM (16 MiB)" },
    { far_outside_ram, "lies outside guest RAM" },
    { below_1mib, "segment 1: physical address 0x20000 is below 0x100000" },
    { addr_overflow, "segment 1: address 0xffffffffffffffef + size 0x1000 overflows" },
    { overlap, "segment 1 [0x200080, 0x201080) overlaps an earlier segment [0x200000, 0x200100)" },
    { entry_outside, "entry point 0x300000 is not inside an executable loadable segment" },
    { entry_in_data, "entry point 0x201008 is not inside an executable" },
    { entry_above_4g, "entry point 0x100200000 is not below 4 GiB" },
    { no_load, "k.elf: no loadable (PT_LOAD) segment" },
};

START_TEST(bad_image_rejected)
{
    struct vmm_elf_image img;

    make_good();
    bad[_i].mutate();
    ck_assert_int_eq(parse(&img), -1);
    ck_assert_msg(strstr(err, bad[_i].msg), "case %d: expected '%s', got '%s'", _i,
                  bad[_i].msg, err);
}
END_TEST

START_TEST(read_file_errors)
{
    char dir[] = "/tmp/vmm_elf_test.XXXXXX", path[128];
    uint8_t *data = NULL;
    size_t size;
    int fd;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(vmm_read_file("/nonexistent/k.elf", &data, &size, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "/nonexistent/k.elf: cannot open: No such file"), "%s", err);
    ck_assert_int_eq(vmm_read_file(dir, &data, &size, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "is a directory; a regular file is needed"), "%s", err);
    /* Neither may block or read forever (Check's timeout would fail it). */
    ck_assert_int_eq(vmm_read_file("/dev/zero", &data, &size, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "/dev/zero: is a character device"), "%s", err);
    snprintf(path, sizeof(path), "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(vmm_read_file(path, &data, &size, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "fifo: is a FIFO"), "%s", err);
    unlink(path);

    snprintf(path, sizeof(path), "%s/empty", dir);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(vmm_read_file(path, &data, &size, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "empty"), "%s", err);

    make_good();
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(write(fd, file, file_size), (ssize_t)file_size);
    close(fd);
    ck_assert_int_eq(vmm_read_file(path, &data, &size, err, sizeof(err)), 0);
    ck_assert_uint_eq(size, file_size);
    ck_assert_int_eq(memcmp(data, file, size), 0);
    free(data);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* An identification libelf does not accept sets no libelf error: the
 * message must still say what is wrong, never "no error". */
START_TEST(unrecognised_header_named)
{
    struct vmm_elf_image img;

    make_good();
    file[EI_VERSION] = 0;
    ehdr()->e_version = 0;
    if (parse(&img) == 0)
        return;                  /* this libelf accepts it: nothing to name */
    ck_assert_msg(!strstr(err, "no error"), "%s", err);
    ck_assert_msg(strstr(err, "k.elf: "), "%s", err);
}
END_TEST

/* At the largest RAM, "use a larger --mem" is advice that cannot be taken. */
START_TEST(too_high_for_any_ram)
{
    struct vmm_elf_image img;

    make_good();
    phdr(1)->p_paddr = VMM_MAX_RAM - 0x800;   /* ends 2 KiB beyond 3 GiB */
    ck_assert_int_eq(vmm_elf_parse("k.elf", file, file_size, VMM_MAX_RAM, &img, err,
                                   sizeof(err)), -1);
    ck_assert_msg(strstr(err, "no supported RAM size holds it"), "%s", err);
    ck_assert_msg(!strstr(err, "larger --mem"), "%s", err);
    phdr(1)->p_paddr = 32ull << 20;           /* fits a larger RAM */
    ck_assert_int_eq(parse(&img), -1);
    ck_assert_msg(strstr(err, "use a larger --mem"), "%s", err);
}
END_TEST

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    Suite *s = suite_create("vmm_elf");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, good_image_loads);
    tcase_add_loop_test(tc, bad_image_rejected, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, read_file_errors);
    tcase_add_test(tc, bss_in_fresh_ram_untouched);
    tcase_add_test(tc, unrecognised_header_named);
    tcase_add_test(tc, too_high_for_any_ram);
    suite_add_tcase(s, tc);
    check_plan_add(plan, s);
    return CHECK_RUN;
}

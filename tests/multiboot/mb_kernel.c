/*
 * The multiboot test kernel (tests/multiboot, docs/multiboot.md "Tests"):
 * checks, from inside, the entry state the Multiboot Specification (0.6.96,
 * section 3.2) promises and the information structure (3.3), prints what
 * it found on COM1 for the host-side test to compare with what it passed,
 * and ends by writing to the isa-debug-exit port: 1 if any check failed,
 * else the number given as "exit=N" on its command line (default 0).
 */
#include <stdint.h>

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

extern uint32_t entry_eax, entry_ebx, entry_eflags, entry_cr0, entry_cr4;
extern uint32_t entry_cs_limit, entry_ds_limit;
extern uint16_t entry_cs, entry_ds, entry_ss;
extern char kernel_end[], _start[];

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4], mmap_length, mmap_addr, drives_length, drives_addr, config_table;
    uint32_t boot_loader_name;
};

struct mb_module {
    uint32_t start, end, cmdline, pad;
};

static unsigned failures;

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void putc_(char c)
{
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

static void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

/* Prints up to max bytes of s, stopping at NUL or newline. */
static void putsn(const char *s, unsigned max)
{
    for (unsigned i = 0; i < max && s[i] && s[i] != '\n'; i++)
        putc_(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
}

static void putx(uint64_t v)
{
    char b[19];
    int n = 0;

    puts_("0x");
    do {
        b[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    while (n)
        putc_(b[--n]);
}

static void putu(uint32_t v)
{
    char b[11];
    int n = 0;

    do {
        b[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc_(b[--n]);
}

static void check(const char *name, int ok)
{
    puts_("check ");
    puts_(name);
    puts_(ok ? ": ok\n" : ": FAIL\n");
    if (!ok)
        failures++;
}

/* The value of "exit=N" on the command line, or 0. */
static uint32_t exit_value(const char *cmd)
{
    for (const char *p = cmd; *p; p++) {
        if ((p == cmd || p[-1] == ' ') && p[0] == 'e' && p[1] == 'x' && p[2] == 'i' &&
            p[3] == 't' && p[4] == '=') {
            uint32_t v = 0;
            for (p += 5; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (uint32_t)(*p - '0');
            return v;
        }
    }
    return 0;
}

static void entry_state(void)
{
    puts_("mbtest: eax=");
    putx(entry_eax);
    puts_(" cr0=");
    putx(entry_cr0);
    puts_(" cr4=");
    putx(entry_cr4);
    puts_(" eflags=");
    putx(entry_eflags);
    puts_(" cs=");
    putx(entry_cs);
    puts_(" ds=");
    putx(entry_ds);
    puts_("\n");
    check("magic in EAX", entry_eax == 0x2badb002);
    check("CR0.PE set, CR0.PG clear", (entry_cr0 & 1) && !(entry_cr0 & 0x80000000u));
    check("EFLAGS.IF and EFLAGS.VM clear", !(entry_eflags & ((1u << 9) | (1u << 17))));
    check("CS and DS flat 4 GiB", entry_cs_limit == 0xffffffffu && entry_ds_limit == 0xffffffffu);
    check("DS = SS", entry_ds == entry_ss);
}

static void modules(const struct mb_info *mi)
{
    const struct mb_module *m = (const struct mb_module *)(uintptr_t)mi->mods_addr;
    uint32_t ram_end = 0x100000 + mi->mem_upper * 1024;

    puts_("mbtest: mods=");
    putu(mi->mods_count);
    puts_("\n");
    for (uint32_t i = 0; i < mi->mods_count; i++) {
        puts_("mbtest: mod ");
        putu(i);
        puts_(": cmdline='");
        putsn((const char *)(uintptr_t)m[i].cmdline, 200);
        puts_("' size=");
        putu(m[i].end - m[i].start);
        puts_(" text='");
        putsn((const char *)(uintptr_t)m[i].start, m[i].end - m[i].start < 60 ?
              m[i].end - m[i].start : 60);
        puts_("'\n");
        check("module page-aligned, above the kernel, inside RAM",
              (m[i].start & 0xfff) == 0 && m[i].start >= (uint32_t)(uintptr_t)kernel_end &&
              m[i].end >= m[i].start && m[i].end <= ram_end);
        check("modules do not overlap", i == 0 || m[i].start >= m[i - 1].end);
    }
}

static void memory_map(const struct mb_info *mi)
{
    uint32_t p = mi->mmap_addr, end = mi->mmap_addr + mi->mmap_length;
    int upper_seen = 0, low_seen = 0;

    while (p < end) {
        uint32_t size = *(const uint32_t *)(uintptr_t)p;
        uint64_t base = *(const uint64_t *)(uintptr_t)(p + 4);
        uint64_t len = *(const uint64_t *)(uintptr_t)(p + 12);
        uint32_t type = *(const uint32_t *)(uintptr_t)(p + 20);

        puts_("mbtest: mmap base=");
        putx(base);
        puts_(" length=");
        putx(len);
        puts_(" type=");
        putu(type);
        puts_("\n");
        if (type == 1 && base == 0x100000 && len == (uint64_t)mi->mem_upper * 1024)
            upper_seen = 1;
        if (type == 1 && base == 0 && len == (uint64_t)mi->mem_lower * 1024)
            low_seen = 1;
        p += size + 4;
    }
    check("memory map agrees with mem_lower and mem_upper", upper_seen && low_seen);
}

void mb_main(void)
{
    const struct mb_info *mi = (const struct mb_info *)(uintptr_t)entry_ebx;
    const char *cmd = "";
    uint32_t v;

    puts_("mbtest: multiboot test kernel at ");
    putx((uint32_t)(uintptr_t)_start);
    puts_("\n");
    entry_state();
    puts_("mbtest: info at ");
    putx(entry_ebx);
    puts_(" flags=");
    putx(mi->flags);
    puts_("\n");
    check("info flags: mem, cmdline, mods, mmap", (mi->flags & 0x4d) == 0x4d);
    puts_("mbtest: mem_lower=");
    putu(mi->mem_lower);
    puts_(" mem_upper=");
    putu(mi->mem_upper);
    puts_("\n");
    if (mi->flags & 4) {
        cmd = (const char *)(uintptr_t)mi->cmdline;
        puts_("mbtest: cmdline='");
        putsn(cmd, 1100);
        puts_("'\n");
    }
    if (mi->flags & (1u << 9)) {
        puts_("mbtest: loader='");
        putsn((const char *)(uintptr_t)mi->boot_loader_name, 40);
        puts_("'\n");
    }
    if (mi->flags & 8)
        modules(mi);
    if (mi->flags & 0x40)
        memory_map(mi);
    puts_("mbtest: ");
    putu(failures);
    puts_(" checks failed\n");
    v = failures ? 1 : exit_value(cmd);
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"((uint16_t)DEBUG_EXIT));
    for (;;)
        __asm__ volatile("cli; hlt");
}

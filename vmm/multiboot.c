/* Multiboot v1 header, module placement and information structure; see multiboot.h. */
#include "multiboot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "memmap.h"
#include "parse.h"

#define PAGE 0x1000ull

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *ram, uint64_t addr, uint32_t v)
{
    memcpy(ram + addr, &v, 4);        /* x86 guests: host and guest are little-endian */
}

/* Refuses the flags vmm cannot honour (spec 3.1.2: an unknown bit in 0-15
 * must make the boot loader fail). */
static int check_flags(const char *name, uint32_t off, uint32_t flags, char *err, size_t errlen)
{
    uint32_t unknown = flags & 0xffffu & ~(VMM_MB_HF_PAGE_ALIGN | VMM_MB_HF_MEMINFO |
                                          VMM_MB_HF_VIDEO);

    if (flags & VMM_MB_HF_VIDEO) {
        snprintf(err, errlen, "%s: multiboot header at offset %" PRIu32 ": flags 0x%08" PRIx32
                 " ask for a video mode (bit 2); vmm has no display (serial console only)",
                 name, off, flags);
        return -1;
    }
    if (flags & VMM_MB_HF_AOUT_KLUDGE) {
        snprintf(err, errlen, "%s: multiboot header at offset %" PRIu32 ": flags 0x%08" PRIx32
                 " ask for load addresses from the header (bit 16, the a.out kludge); vmm "
                 "loads multiboot kernels as ELF only", name, off, flags);
        return -1;
    }
    if (unknown) {
        snprintf(err, errlen, "%s: multiboot header at offset %" PRIu32 ": flags 0x%08" PRIx32
                 " set required bit(s) 0x%04" PRIx32 " that vmm does not know",
                 name, off, flags, unknown);
        return -1;
    }
    return 0;
}

int vmm_mb_find(const char *name, const uint8_t *data, size_t size,
                struct vmm_mb_header *h, char *err, size_t errlen)
{
    size_t limit = size < VMM_MB_SEARCH_BYTES ? size : VMM_MB_SEARCH_BYTES;
    long bad = -1;          /* offset of the first magic with a wrong checksum */

    for (size_t off = 0; off + 4 <= limit; off += 4) {
        if (rd32(data + off) != VMM_MB_HEADER_MAGIC)
            continue;
        if (off + 12 > size) {
            snprintf(err, errlen, "%s: multiboot header at offset %zu is truncated (the "
                     "file ends before its flags and checksum)", name, off);
            return -1;
        }
        uint32_t flags = rd32(data + off + 4), sum = rd32(data + off + 8);
        if ((uint32_t)(VMM_MB_HEADER_MAGIC + flags + sum) != 0) {
            if (bad < 0)
                bad = (long)off;
            continue;       /* the magic may be data; a later one may be the header */
        }
        if (check_flags(name, (uint32_t)off, flags, err, errlen) < 0)
            return -1;
        h->offset = (uint32_t)off;
        h->flags = flags;
        return 1;
    }
    if (bad >= 0) {
        uint32_t flags = rd32(data + bad + 4), sum = rd32(data + bad + 8);
        snprintf(err, errlen, "%s: multiboot header at offset %ld: bad checksum 0x%08" PRIx32
                 " (magic + flags + checksum must be 0 mod 2^32; expected 0x%08" PRIx32 ")",
                 name, bad, sum, (uint32_t)(0u - VMM_MB_HEADER_MAGIC - flags));
        return -1;
    }
    return 0;
}

int vmm_mb_check_image(const char *name, const struct vmm_elf_image *img,
                       char *err, size_t errlen)
{
    for (size_t i = 0; i < img->nseg; i++) {
        const struct vmm_elf_segment *s = &img->seg[i];
        if (vmm_ranges_overlap(s->paddr, s->memsz, VMM_MB_AREA_ADDR,
                               VMM_MB_AREA_END - VMM_MB_AREA_ADDR)) {
            snprintf(err, errlen, "%s: segment [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps vmm's "
                     "multiboot boot information area [0x%x, 0x%x)", name, s->paddr,
                     s->paddr + s->memsz, VMM_MB_AREA_ADDR, VMM_MB_AREA_END);
            return -1;
        }
    }
    return 0;
}

int vmm_mb_split_module(const char *spec, char *buf, size_t buflen,
                        const char **path, const char **args, char *err, size_t errlen)
{
    size_t n = strlen(spec);
    char *comma;

    if (n + 1 > buflen) {
        snprintf(err, errlen, "--module: value longer than %zu bytes", buflen - 1);
        return -1;
    }
    memcpy(buf, spec, n + 1);
    comma = strchr(buf, ',');
    *args = NULL;
    if (comma) {
        *comma = '\0';
        *args = comma + 1;
    }
    if (buf[0] == '\0') {
        snprintf(err, errlen, "--module: '%s' names no file (expected FILE[,ARGS])", spec);
        return -1;
    }
    *path = buf;
    return 0;
}

int vmm_mb_place_modules(const struct vmm_elf_image *img, uint64_t mem,
                         struct vmm_mb_module *mods, size_t n, char *err, size_t errlen)
{
    uint64_t next = (img->hi + PAGE - 1) & ~(PAGE - 1);
    char m[32];

    if (next < 0x100000)
        next = 0x100000;
    if (n > VMM_MB_MAX_MODULES) {
        snprintf(err, errlen, "%zu modules; at most %u", n, VMM_MB_MAX_MODULES);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (mods[i].size > mem || next > mem - mods[i].size) {
            snprintf(err, errlen, "module %s (%zu bytes) does not fit in guest RAM (%s) "
                     "after the kernel and the modules before it (free from 0x%" PRIx64
                     "); use a larger --mem", mods[i].path, mods[i].size,
                     vmm_format_size(mem, m, sizeof(m)), next);
            return -1;
        }
        mods[i].addr = next;
        next = (next + mods[i].size + PAGE - 1) & ~(PAGE - 1);
    }
    return 0;
}

/* A bump allocator over the low area; 0 when it is full. */
struct area {
    uint64_t next;
};

static uint64_t area_put(uint8_t *ram, struct area *a, const void *p, size_t len)
{
    uint64_t at = a->next;

    if (len > VMM_MB_AREA_END - at)
        return 0;
    memcpy(ram + at, p, len);
    a->next = (at + len + 7) & ~7ull;
    return at;
}

/* Puts "first[ second]" with its NUL; 0 when it does not fit. */
static uint64_t area_put_line(uint8_t *ram, struct area *a, const char *first, const char *second)
{
    size_t l1 = strlen(first), l2 = second && *second ? strlen(second) : 0;
    uint64_t at = a->next;
    size_t len = l1 + (l2 ? 1 + l2 : 0) + 1;

    if (len > VMM_MB_AREA_END - at)
        return 0;
    memcpy(ram + at, first, l1);
    if (l2) {
        ram[at + l1] = ' ';
        memcpy(ram + at + l1 + 1, second, l2);
    }
    ram[at + len - 1] = '\0';
    a->next = (at + len + 7) & ~7ull;
    return at;
}

/* The memory map (spec 3.3: each entry is size, base_addr, length, type,
 * size not counting itself). Conventional memory, the legacy hole (kept
 * reserved by convention although vmm backs it with RAM), then RAM above 1 MiB. */
static uint64_t write_mmap(uint8_t *ram, uint64_t mem, struct area *a, uint32_t *len)
{
    static const struct { uint64_t base, size; uint32_t type; } lowmap[] = {
        { 0, VMM_MB_LOWER_KIB * 1024ull, 1 },
        { VMM_MB_LOWER_KIB * 1024ull, 0x100000 - VMM_MB_LOWER_KIB * 1024ull, 2 },
    };
    uint8_t e[24];
    uint64_t first = 0;

    for (size_t i = 0; i < 3; i++) {
        uint64_t base = i < 2 ? lowmap[i].base : 0x100000;
        uint64_t size = i < 2 ? lowmap[i].size : mem - 0x100000;
        uint32_t type = i < 2 ? lowmap[i].type : 1, esz = 20;
        uint64_t at;

        memcpy(e, &esz, 4);
        memcpy(e + 4, &base, 8);
        memcpy(e + 12, &size, 8);
        memcpy(e + 20, &type, 4);
        /* entries are packed (24 bytes each): no padding between them */
        if (a->next + 24 > VMM_MB_AREA_END)
            return 0;
        at = a->next;
        memcpy(ram + at, e, 24);
        a->next += 24;
        if (i == 0)
            first = at;
    }
    a->next = (a->next + 7) & ~7ull;
    *len = 3 * 24;
    return first;
}

static void write_gdt(uint8_t *ram)
{
    /* null; flat 4 GiB 32-bit code (type 0x9b) and data (0x93), accessed
     * bits preset so that loading a selector never writes the GDT. */
    static const uint64_t gdt[3] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };

    memcpy(ram + VMM_MB_GDT_ADDR, gdt, sizeof(gdt));
}

int vmm_mb_write_info(uint8_t *ram, uint64_t mem, const struct vmm_mb_boot *b,
                      char *err, size_t errlen)
{
    struct area a = { VMM_MB_INFO_ADDR + VMM_MB_INFO_SIZE };
    uint64_t info = VMM_MB_INFO_ADDR, cmd, name, mmap, mods = 0;
    uint32_t mmap_len = 0;
    uint8_t modrec[VMM_MB_MAX_MODULES][16];

    memset(ram + VMM_MB_AREA_ADDR, 0, VMM_MB_AREA_END - VMM_MB_AREA_ADDR);
    write_gdt(ram);
    for (size_t i = 0; i < b->nmods; i++) {
        const struct vmm_mb_module *m = &b->mods[i];
        uint32_t start = (uint32_t)m->addr, end = (uint32_t)(m->addr + m->size);
        uint64_t line = area_put_line(ram, &a, m->path, m->args);
        uint32_t l32 = (uint32_t)line, zero = 0;

        if (!line)
            goto full;
        memcpy(ram + m->addr, m->data, m->size);
        memcpy(modrec[i], &start, 4);
        memcpy(modrec[i] + 4, &end, 4);
        memcpy(modrec[i] + 8, &l32, 4);
        memcpy(modrec[i] + 12, &zero, 4);
    }
    cmd = area_put_line(ram, &a, b->name, b->bootargs);
    name = area_put_line(ram, &a, "vmm", NULL);
    mmap = write_mmap(ram, mem, &a, &mmap_len);
    if (b->nmods)
        mods = area_put(ram, &a, modrec, b->nmods * 16);
    if (!cmd || !name || !mmap || (b->nmods && !mods))
        goto full;
    wr32(ram, info + VMM_MB_INFO_FLAGS, VMM_MB_IF_MEM | VMM_MB_IF_CMDLINE | VMM_MB_IF_MODS |
         VMM_MB_IF_MMAP | VMM_MB_IF_LOADER_NAME);
    wr32(ram, info + VMM_MB_INFO_MEM_LOWER, VMM_MB_LOWER_KIB);
    wr32(ram, info + VMM_MB_INFO_MEM_UPPER, (uint32_t)((mem - 0x100000) / 1024));
    wr32(ram, info + VMM_MB_INFO_CMDLINE, (uint32_t)cmd);
    wr32(ram, info + VMM_MB_INFO_MODS_COUNT, (uint32_t)b->nmods);
    wr32(ram, info + VMM_MB_INFO_MODS_ADDR, (uint32_t)mods);
    wr32(ram, info + VMM_MB_INFO_MMAP_LENGTH, mmap_len);
    wr32(ram, info + VMM_MB_INFO_MMAP_ADDR, (uint32_t)mmap);
    wr32(ram, info + VMM_MB_INFO_LOADER_NAME, (uint32_t)name);
    return 0;
full:
    snprintf(err, errlen, "the multiboot command lines and module list do not fit in the "
             "%u bytes of the boot information area", VMM_MB_AREA_END - VMM_MB_AREA_ADDR);
    return -1;
}

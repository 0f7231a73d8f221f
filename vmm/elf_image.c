/* ELF64 guest image validation and loading with libelf; see elf_image.h. */
#include "elf_image.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infile.h"
#include "memmap.h"
#include "parse.h"
#include "abi/vmm.h"

#define PAGE 0x1000ull

/* The identity part of the header, checked by hand so that each kind of
 * wrong file gets its own message before libelf sees it. */
static int check_ident(const char *name, const uint8_t *d, size_t size, unsigned flags,
                       char *err, size_t errlen)
{
    bool elf32 = (flags & VMM_ELF_ALLOW_I386) && size > EI_CLASS && d[EI_CLASS] == ELFCLASS32;

    if (size < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG) != 0) {
        snprintf(err, errlen, "%s: not an ELF file (bad magic)", name);
        return -1;
    }
    if (d[EI_CLASS] != ELFCLASS64 && !elf32) {
        snprintf(err, errlen, "%s: not a 64-bit ELF (EI_CLASS %u%s); need ELFCLASS64",
                 name, d[EI_CLASS], d[EI_CLASS] == ELFCLASS32 ? " = ELFCLASS32" : "");
        return -1;
    }
    if (d[EI_DATA] != ELFDATA2LSB) {
        snprintf(err, errlen, "%s: not little-endian (EI_DATA %u)", name, d[EI_DATA]);
        return -1;
    }
    if (size < (elf32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr))) {
        snprintf(err, errlen, "%s: truncated ELF header (%zu bytes)", name, size);
        return -1;
    }
    return 0;
}

static int check_ehdr(const char *name, const GElf_Ehdr *eh, size_t size, bool elf32,
                      char *err, size_t errlen)
{
    size_t phsz = elf32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr);

    if (elf32 && eh->e_machine != EM_386) {
        snprintf(err, errlen, "%s: a 32-bit ELF for e_machine %u; need EM_386 (%u)",
                 name, eh->e_machine, EM_386);
        return -1;
    }
    if (!elf32 && eh->e_machine != EM_X86_64) {
        snprintf(err, errlen, "%s: wrong architecture (e_machine %u%s); need x86-64 "
                 "(EM_X86_64 = %u)", name, eh->e_machine,
                 eh->e_machine == EM_386 ? " = EM_386" :
                 eh->e_machine == EM_AARCH64 ? " = EM_AARCH64" : "", EM_X86_64);
        return -1;
    }
    if (eh->e_type != ET_EXEC) {
        snprintf(err, errlen, "%s: not an executable (e_type %u%s); need ET_EXEC",
                 name, eh->e_type, eh->e_type == ET_DYN ? " = ET_DYN, PIE or shared object" :
                 eh->e_type == ET_REL ? " = ET_REL, object file" : "");
        return -1;
    }
    if (eh->e_phnum == 0) {
        snprintf(err, errlen, "%s: no program headers", name);
        return -1;
    }
    if (eh->e_phentsize != phsz || eh->e_phoff > size ||
        (uint64_t)eh->e_phnum * phsz > size - eh->e_phoff) {
        snprintf(err, errlen, "%s: program header table (offset %" PRIu64
                 ", %u entries of %u bytes) is truncated or malformed",
                 name, (uint64_t)eh->e_phoff, eh->e_phnum, eh->e_phentsize);
        return -1;
    }
    return 0;
}

/* Bounds of one PT_LOAD segment: in the file, in RAM, clear of fixed regions. */
static int check_segment(const char *name, unsigned idx, const GElf_Phdr *ph,
                         size_t size, uint64_t mem_size, unsigned flags,
                         char *err, size_t errlen)
{
    size_t nfixed;
    const struct vmm_region *fixed = vmm_memmap_fixed(&nfixed);
    char m[32];

    if (ph->p_filesz > ph->p_memsz) {
        snprintf(err, errlen, "%s: segment %u: file size 0x%" PRIx64 " exceeds memory "
                 "size 0x%" PRIx64, name, idx, ph->p_filesz, ph->p_memsz);
        return -1;
    }
    if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset) {
        snprintf(err, errlen, "%s: segment %u: file range [0x%" PRIx64 ", +0x%" PRIx64
                 ") lies beyond the end of the file (%zu bytes; truncated?)",
                 name, idx, ph->p_offset, ph->p_filesz, size);
        return -1;
    }
    if (ph->p_paddr > UINT64_MAX - ph->p_memsz) {
        snprintf(err, errlen, "%s: segment %u: address 0x%" PRIx64 " + size 0x%" PRIx64
                 " overflows", name, idx, ph->p_paddr, ph->p_memsz);
        return -1;
    }
    if (ph->p_paddr < ((flags & VMM_ELF_LOW_MEMORY) ? VMM_ELF_LOW_MIN_ADDR : VMM_KERNEL_MIN_ADDR)) {
        snprintf(err, errlen, "%s: segment %u: physical address 0x%" PRIx64 " is below "
                 "0x%llx (%s)", name, idx, ph->p_paddr,
                 (flags & VMM_ELF_LOW_MEMORY) ? VMM_ELF_LOW_MIN_ADDR : VMM_KERNEL_MIN_ADDR,
                 (flags & VMM_ELF_LOW_MEMORY) ? "page 0 holds the real-mode IVT"
                                              : "the first 1 MiB holds the boot data and FDT");
        return -1;
    }
    if (ph->p_paddr + ph->p_memsz > mem_size) {
        /* A larger --mem helps only below the largest supported RAM. */
        bool can_grow = mem_size < VMM_MAX_RAM && ph->p_paddr + ph->p_memsz <= VMM_MAX_RAM;
        snprintf(err, errlen, "%s: segment %u: [0x%" PRIx64 ", 0x%" PRIx64 ") lies "
                 "outside guest RAM (%s); %s",
                 name, idx, ph->p_paddr, ph->p_paddr + ph->p_memsz,
                 vmm_format_size(mem_size, m, sizeof(m)),
                 can_grow ? "use a larger --mem (or memory = in a config)"
                          : "no supported RAM size holds it (the largest is 3 GiB); "
                            "link the kernel lower");
        return -1;
    }
    for (size_t i = 0; i < nfixed; i++) {
        if ((flags & VMM_ELF_LOW_MEMORY) && fixed[i].in_ram)
            continue;      /* the vmm ABI's low regions; the caller checks its own */
        if (vmm_ranges_overlap(ph->p_paddr, ph->p_memsz, fixed[i].base, fixed[i].size)) {
            snprintf(err, errlen, "%s: segment %u: [0x%" PRIx64 ", 0x%" PRIx64
                     ") overlaps the %s region", name, idx, ph->p_paddr,
                     ph->p_paddr + ph->p_memsz, fixed[i].name);
            return -1;
        }
    }
    return 0;
}

static int collect_segments(const char *name, Elf *elf, size_t phnum, size_t size,
                            uint64_t mem_size, unsigned flags, struct vmm_elf_image *img,
                            char *err, size_t errlen)
{
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        struct vmm_elf_segment *s;

        if (!gelf_getphdr(elf, (int)i, &ph)) {
            snprintf(err, errlen, "%s: program header %zu unreadable: %s", name, i,
                     elf_errmsg(-1));
            return -1;
        }
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (check_segment(name, (unsigned)i, &ph, size, mem_size, flags, err, errlen) < 0)
            return -1;
        for (size_t j = 0; j < img->nseg; j++) {
            if (vmm_ranges_overlap(ph.p_paddr, ph.p_memsz, img->seg[j].paddr,
                                   img->seg[j].memsz)) {
                snprintf(err, errlen, "%s: segment %zu [0x%" PRIx64 ", 0x%" PRIx64
                         ") overlaps an earlier segment [0x%" PRIx64 ", 0x%" PRIx64 ")",
                         name, i, ph.p_paddr, ph.p_paddr + ph.p_memsz,
                         img->seg[j].paddr, img->seg[j].paddr + img->seg[j].memsz);
                return -1;
            }
        }
        if (img->nseg == VMM_ELF_MAX_SEGMENTS) {
            snprintf(err, errlen, "%s: more than %u loadable segments", name,
                     VMM_ELF_MAX_SEGMENTS);
            return -1;
        }
        s = &img->seg[img->nseg++];
        *s = (struct vmm_elf_segment){ ph.p_offset, ph.p_filesz, ph.p_paddr,
                                       ph.p_memsz, ph.p_flags };
    }
    if (img->nseg == 0) {
        snprintf(err, errlen, "%s: no loadable (PT_LOAD) segment", name);
        return -1;
    }
    return 0;
}

static int check_entry(const char *name, struct vmm_elf_image *img,
                       char *err, size_t errlen)
{
    bool found = false;

    img->lo = UINT64_MAX;
    img->hi = 0;
    for (size_t i = 0; i < img->nseg; i++) {
        const struct vmm_elf_segment *s = &img->seg[i];
        if ((s->flags & PF_X) && img->entry >= s->paddr &&
            img->entry - s->paddr < s->memsz)
            found = true;
        if (s->paddr < img->lo)
            img->lo = s->paddr;
        if (s->paddr + s->memsz > img->hi)
            img->hi = s->paddr + s->memsz;
    }
    img->lo &= ~(PAGE - 1);
    img->hi = (img->hi + PAGE - 1) & ~(PAGE - 1);
    if (img->entry >= (1ull << 32)) {
        snprintf(err, errlen, "%s: entry point 0x%" PRIx64 " is not below 4 GiB (the "
                 "firmware jumps to it through its identity map)", name, img->entry);
        return -1;
    }
    if (!found) {
        snprintf(err, errlen, "%s: entry point 0x%" PRIx64 " is not inside an "
                 "executable loadable segment", name, img->entry);
        return -1;
    }
    return 0;
}

int vmm_elf_parse(const char *name, const uint8_t *data, size_t size,
                  uint64_t mem_size, struct vmm_elf_image *img,
                  char *err, size_t errlen)
{
    return vmm_elf_parse_flags(name, data, size, mem_size, 0, img, err, errlen);
}

int vmm_elf_parse_flags(const char *name, const uint8_t *data, size_t size,
                        uint64_t mem_size, unsigned flags, struct vmm_elf_image *img,
                        char *err, size_t errlen)
{
    Elf *elf;
    GElf_Ehdr eh;
    int rc = -1;

    memset(img, 0, sizeof(*img));
    if (check_ident(name, data, size, flags, err, errlen) < 0)
        return -1;
    if (elf_version(EV_CURRENT) == EV_NONE) {
        snprintf(err, errlen, "%s: libelf initialisation failed: %s", name, elf_errmsg(-1));
        return -1;
    }
    /* libelf only reads the buffer in ELF_C_READ mode; the cast drops const
     * because elf_memory's prototype predates it. */
    elf = elf_memory((char *)(uintptr_t)data, size);
    if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
        /* libelf sets no error for a file it merely does not recognise;
         * its "no error" would say nothing. */
        int e = elf_errno();
        snprintf(err, errlen, "%s: unreadable ELF header: %s", name,
                 e ? elf_errmsg(e) : "libelf does not recognise it as an ELF file");
        goto out;
    }
    if (check_ehdr(name, &eh, size, data[EI_CLASS] == ELFCLASS32, err, errlen) < 0)
        goto out;
    img->data = data;
    img->size = size;
    img->entry = eh.e_entry;
    if (collect_segments(name, elf, eh.e_phnum, size, mem_size, flags, img, err, errlen) < 0 ||
        check_entry(name, img, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    if (elf)
        elf_end(elf);
    return rc;
}

/* Zeroes [p, p + n) page by page, writing only pages that are not zero
 * already: reading fresh anonymous memory maps the shared zero page, so a
 * large bss in fresh guest RAM commits no host memory (inside the sandbox,
 * a guest's RAM must not be allocated before the guest touches it). */
static void zero_untouched(uint8_t *p, uint64_t n)
{
    while (n > 0) {
        uint64_t chunk = PAGE - ((uintptr_t)p & (PAGE - 1));
        bool zero = true;
        if (chunk > n)
            chunk = n;
        for (uint64_t i = 0; i < chunk && zero; i++)
            zero = p[i] == 0;
        if (!zero)
            memset(p, 0, chunk);
        p += chunk;
        n -= chunk;
    }
}

void vmm_elf_load(const struct vmm_elf_image *img, uint8_t *ram)
{
    for (size_t i = 0; i < img->nseg; i++) {
        const struct vmm_elf_segment *s = &img->seg[i];
        memcpy(ram + s->paddr, img->data + s->offset, s->filesz);
        zero_untouched(ram + s->paddr + s->filesz, s->memsz - s->filesz);
    }
}

int vmm_read_file(const char *path, uint8_t **data, size_t *size,
                  char *err, size_t errlen)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t done = 0;
    int fd = vmm_input_open(path, VMM_IMAGE_MAX_FILE, "512 MiB", &st, err, errlen);

    if (fd < 0)
        return -1;
    if (st.st_size == 0) {
        snprintf(err, errlen, "%s: size 0 is empty", path);
        goto fail;
    }
    buf = malloc((size_t)st.st_size);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n <= 0) {
            snprintf(err, errlen, "%s: read failed: %s", path,
                     n < 0 ? strerror(errno) : "file shrank");
            goto fail;
        }
        done += (size_t)n;
    }
    close(fd);
    *data = buf;
    *size = done;
    return 0;
fail:
    free(buf);
    close(fd);
    return -1;
}

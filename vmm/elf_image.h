/*
 * Guest kernel images: ELF64 x86-64 executables, loaded by physical address
 * (p_paddr) into guest RAM. Validation is separate from loading so that a
 * bad image is rejected before any VM exists (and is unit-testable).
 */
#ifndef VMM_ELF_IMAGE_H
#define VMM_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define VMM_ELF_MAX_SEGMENTS 32u
#define VMM_IMAGE_MAX_FILE   (512ull << 20)

struct vmm_elf_segment {
    uint64_t offset;   /* file offset */
    uint64_t filesz;
    uint64_t paddr;    /* guest-physical load address */
    uint64_t memsz;    /* >= filesz; the rest is zeroed */
    uint32_t flags;    /* PF_R/PF_W/PF_X */
};

struct vmm_elf_image {
    const uint8_t *data;       /* the file contents (not owned) */
    size_t size;
    uint64_t entry;            /* guest-physical entry point */
    struct vmm_elf_segment seg[VMM_ELF_MAX_SEGMENTS];
    size_t nseg;               /* PT_LOAD segments with memsz > 0 */
    uint64_t lo, hi;           /* [lo, hi): 4 KiB-rounded range they cover */
};

/*
 * Validates an image for a guest with mem_size bytes of RAM.
 * Requires: data points to size readable bytes (kept alive while img is
 *   used); name is used in messages only.
 * Guarantees: on 0, *img describes every non-empty PT_LOAD segment; each
 *   lies in [VMM_KERNEL_MIN_ADDR, mem_size), inside the file (offset +
 *   filesz), overlaps no other segment and no fixed region of memmap.h;
 *   the entry point lies in an executable segment, below 4 GiB. On -1, err
 *   holds "NAME: problem".
 * Fails when: not ELF, not ELFCLASS64, not little-endian, not EM_X86_64,
 *   not ET_EXEC, truncated headers, no loadable segment, too many
 *   segments, filesz > memsz, any bound above violated, or an address
 *   computation overflows.
 */
int vmm_elf_parse(const char *name, const uint8_t *data, size_t size,
                  uint64_t mem_size, struct vmm_elf_image *img,
                  char *err, size_t errlen);

/*
 * vmm_elf_parse with options (multiboot kernels, docs/multiboot.md):
 * VMM_ELF_ALLOW_I386 also accepts an ELFCLASS32 EM_386 executable;
 * VMM_ELF_LOW_MEMORY lets segments start at VMM_ELF_LOW_MIN_ADDR instead
 * of VMM_KERNEL_MIN_ADDR and ignores the vmm ABI's low RAM regions (boot,
 * fdt, low): the caller then checks its own boot data against the image.
 * The other bounds stay. Without flags it is vmm_elf_parse.
 */
#define VMM_ELF_ALLOW_I386 1u
#define VMM_ELF_LOW_MEMORY 2u
#define VMM_ELF_LOW_MIN_ADDR 0x1000ull
int vmm_elf_parse_flags(const char *name, const uint8_t *data, size_t size,
                        uint64_t mem_size, unsigned flags, struct vmm_elf_image *img,
                        char *err, size_t errlen);

/*
 * Copies the segments into guest RAM and zeroes their bss parts.
 * Requires: img validated by vmm_elf_parse with the same mem_size; ram
 *   points to mem_size bytes.
 * Guarantees: a bss page that reads as zero is not written, so fresh
 *   (anonymous) RAM under a bss commits no host memory.
 */
void vmm_elf_load(const struct vmm_elf_image *img, uint8_t *ram);

/*
 * Reads a whole file into a malloc'ed buffer (caller frees).
 * Fails (-1, err names the file and the reason) when it cannot be opened
 *   or read, is not a regular file, is empty, or is larger than
 *   VMM_IMAGE_MAX_FILE.
 */
int vmm_read_file(const char *path, uint8_t **data, size_t *size,
                  char *err, size_t errlen);

#endif /* VMM_ELF_IMAGE_H */

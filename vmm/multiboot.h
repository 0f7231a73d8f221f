/*
 * The multiboot (version 1) boot protocol, the second way vmm boots a
 * kernel (docs/multiboot.md): finding and checking the header an image
 * carries, placing its modules, and writing the multiboot information
 * structure into guest RAM. KVM-free (unit-tested in tests/multiboot); the
 * register state of the entry is set by vmm_mb_enter (multiboot_entry.c).
 *
 * Reference: the Multiboot Specification version 0.6.96 (GNU GRUB),
 * sections 3.1 (OS image format), 3.2 (machine state) and 3.3 (boot
 * information format).
 */
#ifndef VMM_MULTIBOOT_H
#define VMM_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf_image.h"

#define VMM_MB_HEADER_MAGIC   0x1badb002u  /* in the image */
#define VMM_MB_BOOT_MAGIC     0x2badb002u  /* in EAX at entry */
#define VMM_MB_SEARCH_BYTES   8192u        /* the header lies in the first 8 KiB */

/* Header flags (bits 0-15 are requirements: an unknown one refuses the image) */
#define VMM_MB_HF_PAGE_ALIGN  (1u << 0)    /* modules 4 KiB-aligned: always done */
#define VMM_MB_HF_MEMINFO     (1u << 1)    /* mem_* fields: always given */
#define VMM_MB_HF_VIDEO       (1u << 2)    /* a video mode: vmm has no display */
#define VMM_MB_HF_AOUT_KLUDGE (1u << 16)   /* load addresses in the header */

/* Information structure flags that vmm sets */
#define VMM_MB_IF_MEM         (1u << 0)
#define VMM_MB_IF_CMDLINE     (1u << 2)
#define VMM_MB_IF_MODS        (1u << 3)
#define VMM_MB_IF_MMAP        (1u << 6)
#define VMM_MB_IF_LOADER_NAME (1u << 9)

/*
 * Guest-physical layout of what vmm writes for a multiboot kernel (no
 * firmware runs, so the first MiB is free): a flat GDT (the segments loaded
 * at entry come from it), then the information structure, the memory map,
 * the command lines and the module list, all inside [VMM_MB_AREA_ADDR,
 * VMM_MB_AREA_END), at the top of conventional memory. Everything else
 * from 0x1000 up is the kernel's (kvm-unit-tests copies its AP trampoline
 * to page 0 and links its real-mode test at 0x8000).
 */
#define VMM_MB_AREA_ADDR      0x90000u
#define VMM_MB_AREA_END       0x9f000u
#define VMM_MB_GDT_ADDR       VMM_MB_AREA_ADDR      /* null, code 0x08, data 0x10 */
#define VMM_MB_CODE_SEL       0x08u
#define VMM_MB_DATA_SEL       0x10u
#define VMM_MB_INFO_ADDR      (VMM_MB_AREA_ADDR + 0x40u)
#define VMM_MB_INFO_SIZE      116u                  /* through the framebuffer fields */
#define VMM_MB_MAX_MODULES    16u
#define VMM_MB_LOWER_KIB      639u                  /* [0, 0x9fc00): conventional memory */

/* Offsets in the information structure (spec 3.3) */
#define VMM_MB_INFO_FLAGS       0u
#define VMM_MB_INFO_MEM_LOWER   4u
#define VMM_MB_INFO_MEM_UPPER   8u
#define VMM_MB_INFO_CMDLINE     16u
#define VMM_MB_INFO_MODS_COUNT  20u
#define VMM_MB_INFO_MODS_ADDR   24u
#define VMM_MB_INFO_MMAP_LENGTH 44u
#define VMM_MB_INFO_MMAP_ADDR   48u
#define VMM_MB_INFO_LOADER_NAME 64u

struct vmm_mb_header {
    uint32_t offset;      /* file offset of the magic */
    uint32_t flags;
};

/*
 * Looks for a multiboot header: a 4-byte-aligned VMM_MB_HEADER_MAGIC in the
 * first VMM_MB_SEARCH_BYTES of the file whose next word is the flags and
 * whose checksum word makes magic + flags + checksum == 0 (mod 2^32).
 * Requires: data points to size bytes; name is used in messages only.
 * Guarantees: 1 with *h filled when a header is present and vmm can honour
 *   it; 0 when the file carries no magic at all (not a multiboot image);
 *   -1 with err "NAME: multiboot header at offset N: problem" when a magic
 *   is found but the image must be refused.
 * Fails when: the header is truncated, its checksum is wrong, it asks for a
 *   video mode (bit 2), for load addresses in the header (bit 16, the a.out
 *   kludge: link the kernel as ELF) or sets an unknown requirement bit
 *   (3-15).
 */
int vmm_mb_find(const char *name, const uint8_t *data, size_t size,
                struct vmm_mb_header *h, char *err, size_t errlen);

/*
 * Checks that the kernel's segments leave vmm's boot area alone.
 * Requires: img validated by vmm_elf_parse_flags with VMM_ELF_LOW_MEMORY.
 * Fails: -1, err "NAME: segment [a, b) overlaps ..." naming the area.
 */
int vmm_mb_check_image(const char *name, const struct vmm_elf_image *img,
                       char *err, size_t errlen);

struct vmm_mb_module {
    const char *path;       /* as given; starts the module's command line */
    const char *args;       /* NULL or the text after the comma */
    const uint8_t *data;    /* file contents (not owned) */
    size_t size;
    uint64_t addr;          /* set by vmm_mb_place_modules */
};

/*
 * Splits one --module value "FILE[,ARGS]" into path and args (a copy of
 * spec is made in buf, which must be as long as spec + 1).
 * Fails (-1, err) on an empty FILE.
 */
int vmm_mb_split_module(const char *spec, char *buf, size_t buflen,
                        const char **path, const char **args, char *err, size_t errlen);

/*
 * Chooses each module's address: 4 KiB-aligned, one after the other, from
 * the first page after the kernel image (img->hi), as GRUB and QEMU do,
 * but never below 1 MiB (a low kernel's modules go above the boot area).
 * Requires: img validated for mem.
 * Guarantees: on 0 every mods[i].addr is set and [addr, addr+size) lies in
 *   RAM, above the image, overlapping nothing else; on -1 err names the
 *   module that does not fit and the RAM size.
 */
int vmm_mb_place_modules(const struct vmm_elf_image *img, uint64_t mem,
                         struct vmm_mb_module *mods, size_t n, char *err, size_t errlen);

struct vmm_mb_boot {
    const char *name;                    /* first word of the command line */
    const char *bootargs;                /* never NULL; may be "" */
    const struct vmm_mb_module *mods;    /* placed by vmm_mb_place_modules */
    size_t nmods;                        /* <= VMM_MB_MAX_MODULES */
};

/*
 * Writes the boot GDT, the modules and the information structure (memory
 * sizes, memory map, command line "NAME BOOTARGS", modules with their
 * command lines "PATH[ ARGS]", boot loader name "vmm") into guest RAM.
 * Requires: ram points to mem bytes; modules placed for mem.
 * Guarantees: on 0 the structure lies at VMM_MB_INFO_ADDR and everything
 *   it points to inside [VMM_MB_AREA_ADDR, VMM_MB_AREA_END) or at the
 *   modules' addresses.
 * Fails: -1, err, when the strings do not fit the area (they are bounded
 *   by the option parser, so only with very many long module arguments).
 */
int vmm_mb_write_info(uint8_t *ram, uint64_t mem, const struct vmm_mb_boot *b,
                      char *err, size_t errlen);

#endif /* VMM_MULTIBOOT_H */

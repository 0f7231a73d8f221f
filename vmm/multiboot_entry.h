/*
 * The machine state a multiboot kernel is entered in (spec 3.2), set
 * directly on the bootstrap vCPU: no firmware runs for a multiboot guest
 * (docs/multiboot.md "Entry").
 */
#ifndef VMM_MULTIBOOT_ENTRY_H
#define VMM_MULTIBOOT_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Puts vCPU fd into 32-bit protected mode with paging off: CS = a flat
 * 4 GiB 32-bit code segment (selector VMM_MB_CODE_SEL of the GDT at
 * VMM_MB_GDT_ADDR), DS/ES/FS/GS/SS = the flat data segment
 * (VMM_MB_DATA_SEL), CR0 = PE | ET, CR4 = 0, EFER = 0, EFLAGS = 0x2 (IF
 * and VM clear), EAX = VMM_MB_BOOT_MAGIC, EBX = info, EIP = entry, every
 * other GPR 0, GDTR = that GDT (the spec lets GDTR be anything; a valid one
 * costs nothing), IDTR and TR as after reset.
 * Requires: fd a vCPU that has not run; the GDT written by vmm_mb_write_info.
 * Fails: -1, err names the ioctl and errno.
 */
int vmm_mb_enter(int fd, uint32_t entry, uint32_t info, char *err, size_t errlen);

#endif /* VMM_MULTIBOOT_ENTRY_H */

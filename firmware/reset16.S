/*
 * Reset vector and real mode.
 *
 * The bootstrap vCPU starts in the architectural reset state: real mode,
 * CS.selector = 0xf000 with CS.base = 0xffff0000, IP = 0xfff0, so the first
 * instruction fetched is the one at the top 16 bytes of the 64 KiB ROM
 * (linear 0xfffffff0). It jumps back into the ROM body, loads the ROM GDT and
 * enters 32-bit protected mode (boot32.S).
 */
#include "fw_abi.h"

    .section .reset, "ax"
    .code16
    .globl reset_vector
reset_vector:
    /* Near jump: CS.base stays 0xffff0000, so the target must lie in the
     * same 64 KiB ROM segment (the linker script puts it there). */
    jmp real_start
    .org 16, 0xf4                   /* pad with HLT to the end of the ROM */

    .section .rom.text, "ax"
    .code16
real_start:
    cli
    cld
    /* In real mode the GDT pointer is addressed as segment:offset; only CS
     * reaches the ROM (DS.base is 0), hence the override and the offset
     * relative to the ROM base. lgdtl loads the full 32-bit base. */
    lgdtl %cs:(rom_gdt_desc - FW_ROM_ADDR)
    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    /* Far jump with a 32-bit offset: reloads CS from the GDT and leaves the
     * 16-bit world for good. */
    ljmpl $SEL_CODE32, $pm32_start

    .section .rom.rodata, "a"
    .balign 8
    /* Flat segments. The accessed bit (type 0x9b / 0x93) is preset: the CPU
     * would otherwise write it into the descriptor when loading the segment,
     * and the ROM is read-only guest memory (a write would be an MMIO exit). */
rom_gdt:
    .quad 0                         /* null */
    .quad 0x00cf9b000000ffff        /* SEL_CODE32: 32-bit code, 4 GiB */
    .quad 0x00cf93000000ffff        /* SEL_DATA: data, 4 GiB */
    .quad 0x00af9b000000ffff        /* SEL_CODE64: 64-bit code (L=1) */
rom_gdt_end:
rom_gdt_desc:
    .word rom_gdt_end - rom_gdt - 1
    .long rom_gdt

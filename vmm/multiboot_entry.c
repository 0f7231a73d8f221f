/* Multiboot entry state on the BSP; see multiboot_entry.h. */
#include "multiboot_entry.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "multiboot.h"

static struct kvm_segment flat(uint16_t sel, uint8_t type)
{
    return (struct kvm_segment){
        .base = 0, .limit = 0xffffffffu, .selector = sel, .type = type, .present = 1,
        .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1, .avl = 0, .unusable = 0,
    };
}

int vmm_mb_enter(int fd, uint32_t entry, uint32_t info, char *err, size_t errlen)
{
    struct kvm_sregs s;
    struct kvm_regs r;

    if (ioctl(fd, KVM_GET_SREGS, &s) < 0) {
        snprintf(err, errlen, "multiboot entry: KVM_GET_SREGS: %s", strerror(errno));
        return -1;
    }
    s.cs = flat(VMM_MB_CODE_SEL, 0xb);                /* execute/read, accessed */
    s.ds = s.es = s.fs = s.gs = s.ss = flat(VMM_MB_DATA_SEL, 0x3);   /* read/write, accessed */
    s.gdt.base = VMM_MB_GDT_ADDR;
    s.gdt.limit = 3 * 8 - 1;
    s.cr0 = 0x11;                                     /* PE | ET; CD, NW, PG clear */
    s.cr3 = 0;
    s.cr4 = 0;
    s.efer = 0;
    if (ioctl(fd, KVM_SET_SREGS, &s) < 0) {
        snprintf(err, errlen, "multiboot entry: KVM_SET_SREGS: %s", strerror(errno));
        return -1;
    }
    memset(&r, 0, sizeof(r));
    r.rax = VMM_MB_BOOT_MAGIC;
    r.rbx = info;
    r.rip = entry;
    r.rflags = 0x2;
    if (ioctl(fd, KVM_SET_REGS, &r) < 0) {
        snprintf(err, errlen, "multiboot entry: KVM_SET_REGS: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* pc-testdev interrupt lines; see pc_testdev.h. */
#include "pc_testdev.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

bool vmm_testdev_owns(uint16_t port)
{
    return port >= VMM_TESTDEV_IRQ_PORT && port < VMM_TESTDEV_IRQ_PORT + VMM_TESTDEV_IRQ_LINES;
}

int vmm_testdev_irq(int vm_fd, uint16_t port, uint8_t level, char *err, size_t errlen)
{
    struct kvm_irq_level irq = { .irq = port - VMM_TESTDEV_IRQ_PORT, .level = level != 0 };

    if (ioctl(vm_fd, KVM_IRQ_LINE, &irq) < 0) {
        snprintf(err, errlen, "KVM_IRQ_LINE (line %u, level %u): %s", irq.irq, irq.level,
                 strerror(errno));
        return -1;
    }
    return 0;
}

bool vmm_testdev_iomem(uint8_t *mem, uint64_t addr, bool write, uint8_t *data, unsigned len)
{
    uint64_t off = addr - VMM_TESTDEV_IOMEM_ADDR;

    if (addr < VMM_TESTDEV_IOMEM_ADDR || off >= VMM_TESTDEV_IOMEM_SIZE ||
        len > VMM_TESTDEV_IOMEM_SIZE - off)
        return false;
    if (write)
        memcpy(mem + off, data, len);
    else
        memcpy(data, mem + off, len);
    return true;
}

bool vmm_testdev_ioport_owns(uint16_t port)
{
    return port >= VMM_TESTDEV_IOPORT && port < VMM_TESTDEV_IOPORT + VMM_TESTDEV_IOPORT_LEN;
}

void vmm_testdev_ioport(uint32_t *reg, bool write, uint8_t *data, unsigned size)
{
    uint32_t v = 0;

    if (size > 4)
        size = 4;
    if (write) {
        memcpy(&v, data, size);
        *reg = v;
    } else {
        memcpy(data, reg, size);
    }
}

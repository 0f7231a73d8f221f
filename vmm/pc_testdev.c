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

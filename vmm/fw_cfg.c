/* Minimal fw_cfg (legacy I/O); see fw_cfg.h. */
#include "fw_cfg.h"

#include <string.h>

void vmm_fw_cfg_init(struct vmm_fw_cfg *f, bool enabled, uint64_t ram_size, unsigned cpus)
{
    memset(f, 0, sizeof(*f));
    f->enabled = enabled;
    f->ram_size = ram_size;
    f->cpus = (uint16_t)cpus;
    pthread_mutex_init(&f->lock, NULL);
}

void vmm_fw_cfg_destroy(struct vmm_fw_cfg *f)
{
    pthread_mutex_destroy(&f->lock);
}

bool vmm_fw_cfg_owns(const struct vmm_fw_cfg *f, uint16_t port)
{
    return f->enabled && (port == VMM_FW_CFG_PORT_SEL || port == VMM_FW_CFG_PORT_DATA);
}

/* Byte `off` of item `sel` (little-endian numbers), 0 past its end. */
static uint8_t item_byte(const struct vmm_fw_cfg *f, uint16_t sel, uint32_t off)
{
    uint64_t v;
    unsigned len;

    switch (sel) {
    case VMM_FW_CFG_SIGNATURE: return off < 4 ? (uint8_t)"QEMU"[off] : 0;
    case VMM_FW_CFG_ID: v = 1; len = 4; break;
    case VMM_FW_CFG_RAM_SIZE: v = f->ram_size; len = 8; break;
    case VMM_FW_CFG_NB_CPUS:
    case VMM_FW_CFG_MAX_CPUS: v = f->cpus; len = 2; break;
    default: return 0;
    }
    return off < len ? (uint8_t)(v >> (8 * off)) : 0;
}

void vmm_fw_cfg_access(struct vmm_fw_cfg *f, uint16_t port, bool write, uint8_t *data,
                       unsigned size)
{
    pthread_mutex_lock(&f->lock);
    if (port == VMM_FW_CFG_PORT_SEL && write && size == 2) {
        f->selector = (uint16_t)(data[0] | data[1] << 8);
        f->offset = 0;
    } else if (port == VMM_FW_CFG_PORT_DATA && !write && size == 1) {
        data[0] = item_byte(f, f->selector, f->offset);
        if (f->offset < UINT32_MAX)
            f->offset++;
    } else if (!write) {
        memset(data, 0, size);
    }
    pthread_mutex_unlock(&f->lock);
}

/*
 * A minimal QEMU fw_cfg device, legacy I/O interface only (selector port
 * 0x510, 16-bit writes; data port 0x511, byte reads), enabled for
 * multiboot guests: kvm-unit-tests learns its CPU count (and, where asked,
 * RAM size) from it (lib/x86/fwcfg.c). Items: FW_CFG_SIGNATURE "QEMU",
 * FW_CFG_ID 1 (traditional interface only), FW_CFG_RAM_SIZE (u64),
 * FW_CFG_NB_CPUS and FW_CFG_MAX_CPUS (u16). Every other item reads as
 * zeros, as does a read past an item's end. No DMA, no file directory.
 * Reference: QEMU docs/specs/fw_cfg.rst.
 */
#ifndef VMM_FW_CFG_H
#define VMM_FW_CFG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define VMM_FW_CFG_PORT_SEL  0x510u
#define VMM_FW_CFG_PORT_DATA 0x511u

#define VMM_FW_CFG_SIGNATURE 0x00u
#define VMM_FW_CFG_ID        0x01u
#define VMM_FW_CFG_RAM_SIZE  0x03u
#define VMM_FW_CFG_NB_CPUS   0x05u
#define VMM_FW_CFG_MAX_CPUS  0x0fu

struct vmm_fw_cfg {
    bool enabled;
    uint64_t ram_size;
    uint16_t cpus;
    pthread_mutex_t lock;    /* selector and offset are shared by all vCPUs */
    uint16_t selector;
    uint32_t offset;
};

/* Sets up the device (enabled or not). Release with vmm_fw_cfg_destroy. */
void vmm_fw_cfg_init(struct vmm_fw_cfg *f, bool enabled, uint64_t ram_size, unsigned cpus);
void vmm_fw_cfg_destroy(struct vmm_fw_cfg *f);

/* True if the enabled device owns port (0x510 or 0x511). */
bool vmm_fw_cfg_owns(const struct vmm_fw_cfg *f, uint16_t port);

/*
 * One access of `size` bytes. A write to the selector port selects an item
 * and rewinds its offset; a byte read from the data port returns the next
 * byte of the item (0 past its end). Other accesses read 0 / are ignored.
 * Requires: data points to size bytes (size 1, 2 or 4). Thread-safe.
 */
void vmm_fw_cfg_access(struct vmm_fw_cfg *f, uint16_t port, bool write, uint8_t *data,
                       unsigned size);

#endif /* VMM_FW_CFG_H */

/* Accessors for the blobs that payload.S embeds; see payload.h. */
#include "payload.h"

extern const uint8_t vmm_blob_fw[], vmm_blob_guest[];
extern const uint64_t vmm_blob_fw_size, vmm_blob_guest_size;

void vmm_payload_firmware(const uint8_t **data, size_t *size)
{
    *data = vmm_blob_fw;
    *size = (size_t)vmm_blob_fw_size;
}

void vmm_payload_guest(const uint8_t **data, size_t *size)
{
    *data = vmm_blob_guest;
    *size = (size_t)vmm_blob_guest_size;
}

/* Accessors for the blobs that payload.S embeds; see payload.h. */
#include "payload.h"

extern const uint8_t vmm_payload_fw_start[], vmm_payload_fw_end[];
extern const uint8_t vmm_payload_guest_start[], vmm_payload_guest_end[];

void vmm_payload_firmware(const uint8_t **data, size_t *size)
{
    *data = vmm_payload_fw_start;
    *size = (size_t)(vmm_payload_fw_end - vmm_payload_fw_start);
}

void vmm_payload_guest(const uint8_t **data, size_t *size)
{
    *data = vmm_payload_guest_start;
    *size = (size_t)(vmm_payload_guest_end - vmm_payload_guest_start);
}

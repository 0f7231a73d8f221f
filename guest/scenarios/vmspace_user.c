/*
 * The user phase of the VmSpace workload (include/guest/workload.h): the
 * place where ring-3 programs and VmReader/VmWriter copies join the default
 * workload. Empty until they exist.
 */
#include "guest/workload.h"

unsigned workload_user_phase(struct vm_space *vs, unsigned cpu, unsigned round)
{
    (void)vs;
    (void)cpu;
    (void)round;
    return 0;
}

/* The host library's default pt_panic: print and abort (see panic.h). */
#include <stdio.h>
#include <stdlib.h>

#include "pagetable/panic.h"

void pt_panic(const char *msg)
{
    fprintf(stderr, "pagetable: %s\n", msg);
    fflush(stderr);
    abort();
}

/* The exception table's lookup (include/guest/extable.h). The table is
 * small (one entry per fallible primitive), so a linear scan is enough and
 * needs no build-time sorting. */
#include "guest/extable.h"

unsigned extable_count(void)
{
    /* Integer arithmetic: the two symbols are different objects to C. */
    return (unsigned)(((uintptr_t)__ex_table_end - (uintptr_t)__ex_table_start) /
                      sizeof(struct extable_entry));
}

static uint64_t target(const int32_t *field)
{
    return (uint64_t)(uintptr_t)field + (uint64_t)(int64_t)*field;
}

uint64_t extable_search(uint64_t rip)
{
    unsigned n = extable_count();
    for (unsigned i = 0; i < n; i++)
        if (target(&__ex_table_start[i].insn) == rip)
            return target(&__ex_table_start[i].fixup);
    return 0;
}

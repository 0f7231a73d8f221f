/* The validator's unit tests: the bug classes, the input checks, node allocation. */
#include <check.h>

#include "check_main.h"

Suite *classes_suite(void);
Suite *input_suite(void);
Suite *node_alloc_suite(void);

int check_program(int argc, char **argv, struct check_plan *plan)
{
    if (!check_no_args(argc, argv))
        return CHECK_EXIT_USAGE;
    check_plan_add(plan, classes_suite());
    check_plan_add(plan, input_suite());
    check_plan_add(plan, node_alloc_suite());
    return CHECK_RUN;
}

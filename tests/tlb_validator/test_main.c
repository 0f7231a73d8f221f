/* Check runner for the validator's unit tests. */
#include <check.h>
#include <stdlib.h>

Suite *classes_suite(void);
Suite *input_suite(void);

int main(void)
{
    SRunner *sr = srunner_create(classes_suite());
    srunner_add_suite(sr, input_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

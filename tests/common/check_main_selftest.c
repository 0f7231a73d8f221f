/*
 * check_main's own test: the exit-status convention of the shared main().
 * One test that passes, or fails when CHECK_MAIN_SELFTEST_FAIL=1; CTest
 * runs it three ways (tests/common/CMakeLists.txt) and checks for exactly
 * 0 (passed), 1 (a test failed) and 2 (bad command line, nothing ran).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

START_TEST(passes_unless_told_to_fail)
{
    const char *fail = getenv("CHECK_MAIN_SELFTEST_FAIL");
    ck_assert_msg(!fail || strcmp(fail, "1") != 0, "failing as CHECK_MAIN_SELFTEST_FAIL=1 asks");
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("check_main", "exit_status", CHECK_TIMEOUT_DEFAULT,
                        passes_unless_told_to_fail)

/* Unit test: the KVM lower bound of vmm --bench (vmm/kvm_floor.c). Where
 * /dev/kvm cannot be opened, the measurement must fail with a message naming
 * that step; where it can, it must succeed with positive times. Either way
 * it must leave no file descriptor open. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "kvm_floor.h"

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

START_TEST(floor_measures_or_names_the_failed_step)
{
    struct vmm_kvm_floor f = { -1.0, -1.0 };
    char err[256] = "";
    int before = open_fds();
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (kvm >= 0)
        close(kvm);
    int rc = vmm_kvm_floor_measure(&f, err, sizeof(err));
    if (kvm < 0) {
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(strstr(err, "open /dev/kvm") != NULL, "message: %s", err);
    } else {
        ck_assert_msg(rc == 0, "failed on a host with /dev/kvm: %s", err);
        ck_assert(f.to_first_exit_ms > 0.0);
    }
    ck_assert(f.teardown_ms >= 0.0);
    ck_assert_int_eq(open_fds(), before);
}
END_TEST

CHECK_PROGRAM_ONE_TCASE("vmm_kvm_floor", "core", CHECK_TIMEOUT_DEFAULT,
                        floor_measures_or_names_the_failed_step)

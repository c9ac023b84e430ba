/* runner.c — main() for every unit-test program: runs the one suite its test
 * file defines and exits non-zero when any test failed. */
#include <check.h>
#include <stdlib.h>

#include "test_suite.h"

int main(void) {
    SRunner *runner = srunner_create(test_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

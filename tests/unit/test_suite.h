/* test_suite.h — each tests/unit/test_*.c defines test_suite(); runner.c runs it. */
#ifndef TEST_SUITE_H
#define TEST_SUITE_H

#include <check.h>

Suite *test_suite(void);

#endif

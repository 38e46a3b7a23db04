// The doctest entry point of tsk_unit; every other file in tests/unit adds test cases.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

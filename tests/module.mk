UNIT_TESTS += test_core

test_fp_ctrl_EXTRA := tests/unit/fp_harness.c

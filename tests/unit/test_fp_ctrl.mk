test_fp_ctrl_EXTRA := tests/unit/fp_harness.c tests/unit/nic_stub.c

test_cc_fp_EXTRA := tests/unit/fp_harness.c tests/unit/nic_stub.c

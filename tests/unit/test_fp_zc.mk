test_fp_zc_EXTRA := tests/unit/fp_harness.c tests/unit/nic_stub.c

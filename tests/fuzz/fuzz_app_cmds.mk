fuzz_app_cmds_EXTRA := tests/unit/fp_harness.c tests/unit/nic_stub.c

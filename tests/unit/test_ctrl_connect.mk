test_ctrl_connect_EXTRA := tests/unit/nic_stub.c

test_tcp_out_EXTRA := tests/unit/tcp_test_util.c

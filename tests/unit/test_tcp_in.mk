test_tcp_in_EXTRA := tests/unit/tcp_test_util.c

test_tcp_conn_EXTRA := tests/unit/tcp_test_util.c

# test_libtas_zc: libtas's zero-copy extension against the fake daemon.
test_libtas_zc_EXTRA := tests/unit/libtas_fx.c tests/unit/libtas_harness.c \
	client/libtas.c client/ll_conn.c client/ll_listen.c client/ll_flow.c client/ll_zc.c
test_libtas_zc_LIBS := -lpthread

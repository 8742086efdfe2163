# test_libtas: libtas against an in-process fake daemon.
test_libtas_EXTRA := tests/unit/libtas_fx.c tests/unit/libtas_harness.c \
	client/libtas.c client/ll_conn.c client/ll_listen.c client/ll_flow.c client/ll_zc.c
test_libtas_LIBS := -lpthread

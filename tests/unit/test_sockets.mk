# test_sockets: libtas_sockets against the in-process fake daemon.
test_sockets_EXTRA := tests/unit/libtas_harness.c client/libtas.c \
	client/ll_conn.c client/ll_listen.c client/ll_flow.c client/ll_zc.c client/sock_core.c \
	client/sock_event.c client/sock_io.c client/sock_opt.c \
	client/sock_poll.c
test_sockets_LIBS := -ldl -lpthread

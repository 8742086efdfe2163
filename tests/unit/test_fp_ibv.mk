# test_fp_ibv.mk - a fast-path core (fp_harness.c) on the ibv backend over
# the libibverbs/librdmacm double: link tests/unit/ibv_double*.c instead
# of -libverbs -lrdmacm (libnuma real), as test_nic_ibv.mk does.
test_fp_ibv_EXTRA := tests/unit/fp_harness.c tests/unit/nic_stub.c tests/unit/ibv_double.c tests/unit/ibv_double_queue.c \
	tests/unit/ibv_double_wire.c tests/unit/ibv_fixture.c
test_fp_ibv_LIBS := -lnuma -lpthread

# test_nic_ibv_data.mk - the ibv data path (TX, RX) against the libibverbs/librdmacm double:
# link tests/unit/ibv_double*.c instead of -libverbs -lrdmacm (libnuma real).
test_nic_ibv_data_EXTRA := tests/unit/ibv_double.c tests/unit/ibv_double_queue.c tests/unit/ibv_double_wire.c \
	tests/unit/ibv_fixture.c
test_nic_ibv_data_LIBS := -lnuma -lpthread

# test_nic_ibv_place.mk - ibv receive placement against the libibverbs
# double (see test_nic_ibv.mk).
test_nic_ibv_place_EXTRA := tests/unit/ibv_double.c tests/unit/ibv_double_queue.c \
	tests/unit/ibv_double_wire.c tests/unit/ibv_fixture.c
test_nic_ibv_place_LIBS := -lnuma -lpthread

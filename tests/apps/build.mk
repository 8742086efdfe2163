# tests/apps/build.mk - test-only programs that act as apps.
HOSTILE_BIN := $(BUILD)/tests/apps/hostile
$(HOSTILE_BIN): $(BUILD)/tests/apps/hostile.o
	$(CC) $(LDFLAGS) -o $@ $^
ALL_TARGETS += $(HOSTILE_BIN)
ALL_OBJS += $(BUILD)/tests/apps/hostile.o

# zc_hostile: a misbehaving zero-copy app (tests/netns/zerocopy.sh), on
# libtas.so found through $ORIGIN/../..
ZC_HOSTILE_BIN := $(BUILD)/tests/apps/zc_hostile
$(ZC_HOSTILE_BIN): $(BUILD)/tests/apps/zc_hostile.o $(LIBTAS_SO)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/tests/apps/zc_hostile.o -L$(BUILD) \
		-ltas -Wl,-rpath,'$$ORIGIN/../..'
ALL_TARGETS += $(ZC_HOSTILE_BIN)
ALL_OBJS += $(BUILD)/tests/apps/zc_hostile.o

# ---- sock_semantics (sockets owner): CMocka socket-semantics tests of
# libtas_sockets.so against two running daemons (tests/apps/sockets_wire.sh);
# finds libtas_sockets.so and libtas.so in $(BUILD) through $ORIGIN/../.. ----
SOCK_SEM_OBJS := $(patsubst %,$(BUILD)/tests/apps/%.o,sock_semantics \
	sock_sem_multi sock_sem_util sock_sem_peer)
SOCK_SEM_BIN := $(BUILD)/tests/apps/sock_semantics
$(SOCK_SEM_BIN): $(SOCK_SEM_OBJS) $(SOCK_SO)
	$(CC) $(LDFLAGS) -o $@ $(SOCK_SEM_OBJS) \
		-L$(BUILD) -ltas_sockets -Wl,-rpath,'$$ORIGIN/../..' \
		$(CMOCKA_LIBS) -lpthread
ALL_TARGETS += $(SOCK_SEM_BIN)
ALL_OBJS += $(SOCK_SEM_OBJS)
# ---- end sock_semantics ----

# client/build.mk - libtas.so (the flextcp API) and its example programs.
#
# libtas links only include/ headers and libc; it exports flextcp_* only
# (-fvisibility=hidden plus the version script client/libtas.map).

LIBTAS_SRCS := client/libtas.c client/ll_conn.c client/ll_listen.c \
	client/ll_flow.c client/ll_zc.c
LIBTAS_OBJS := $(LIBTAS_SRCS:%.c=$(BUILD)/%.o)
LIBTAS_SO := $(BUILD)/libtas.so

$(LIBTAS_OBJS): CFLAGS += -fvisibility=hidden

$(LIBTAS_SO): $(LIBTAS_OBJS) client/libtas.map
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libtas.so \
		-Wl,--version-script=client/libtas.map -o $@ $(LIBTAS_OBJS) \
		-lpthread

# Examples: one .c each (blast also needs sha256.c; objstore is
# objstore*.c plus sha256.c and bench_common.c), linked to libtas.so,
# found at run time from build/examples through $ORIGIN/..
TAS_EXAMPLES := echo_server rpc_client blast objstore
TAS_EXAMPLE_BINS := $(TAS_EXAMPLES:%=$(BUILD)/examples/%)
OBJSTORE_OBJS := $(patsubst %.c,$(BUILD)/%.o, \
	client/examples/objstore_server.c client/examples/objstore_kernel.c \
	client/examples/objstore_client.c)
TAS_EXAMPLE_OBJS := $(TAS_EXAMPLES:%=$(BUILD)/client/examples/%.o) \
	$(BUILD)/client/examples/sha256.o $(OBJSTORE_OBJS)

$(BUILD)/examples/blast: $(BUILD)/client/examples/sha256.o
$(BUILD)/examples/objstore: $(OBJSTORE_OBJS) \
	$(BUILD)/client/examples/sha256.o $(BUILD)/client/examples/bench_common.o

$(BUILD)/examples/%: $(BUILD)/client/examples/%.o $(LIBTAS_SO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -L$(BUILD) -ltas \
		-Wl,-rpath,'$$ORIGIN/..' -lpthread -lm

ALL_TARGETS += $(LIBTAS_SO) $(TAS_EXAMPLE_BINS)
ALL_OBJS += $(LIBTAS_OBJS) $(TAS_EXAMPLE_OBJS)

# ---- libtas_sockets / libtas_interpose (sockets owner) ----
# libtas_sockets.so: the tas_* API (include/tas_sockets.h), linked to
# libtas.so (found through $ORIGIN). libtas_interpose.so: the LD_PRELOAD
# shim, self-contained (sockets and libtas objects inside, hidden), that
# exports only the POSIX names of client/interpose.map.
SOCK_SRCS := client/sock_core.c client/sock_event.c client/sock_io.c \
	client/sock_opt.c client/sock_poll.c
SOCK_OBJS := $(SOCK_SRCS:%.c=$(BUILD)/%.o)
SOCK_SO := $(BUILD)/libtas_sockets.so
INTERPOSE_OBJS := $(BUILD)/client/interpose.o
INTERPOSE_SO := $(BUILD)/libtas_interpose.so

$(SOCK_OBJS) $(INTERPOSE_OBJS): CFLAGS += -fvisibility=hidden

$(SOCK_SO): $(SOCK_OBJS) $(LIBTAS_SO) client/sockets.map
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libtas_sockets.so \
		-Wl,--version-script=client/sockets.map -o $@ $(SOCK_OBJS) \
		-L$(BUILD) -ltas -Wl,-rpath,'$$ORIGIN' -ldl -lpthread

$(INTERPOSE_SO): $(INTERPOSE_OBJS) $(SOCK_OBJS) $(LIBTAS_OBJS) \
		client/interpose.map
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libtas_interpose.so \
		-Wl,--version-script=client/interpose.map -o $@ \
		$(INTERPOSE_OBJS) $(SOCK_OBJS) $(LIBTAS_OBJS) -ldl -lpthread

ALL_TARGETS += $(SOCK_SO) $(INTERPOSE_SO)
ALL_OBJS += $(SOCK_OBJS) $(INTERPOSE_OBJS)

# client/build.mk - libtas.so (the flextcp API) and its example programs.
#
# libtas links only include/ headers and libc; it exports flextcp_* only
# (-fvisibility=hidden plus the version script client/libtas.map).

LIBTAS_SRCS := client/libtas.c client/ll_conn.c client/ll_flow.c
LIBTAS_OBJS := $(LIBTAS_SRCS:%.c=$(BUILD)/%.o)
LIBTAS_SO := $(BUILD)/libtas.so

$(LIBTAS_OBJS): CFLAGS += -fvisibility=hidden

$(LIBTAS_SO): $(LIBTAS_OBJS) client/libtas.map
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libtas.so \
		-Wl,--version-script=client/libtas.map -o $@ $(LIBTAS_OBJS) \
		-lpthread

# Examples: one .c each (blast also needs sha256.c), linked to libtas.so,
# found at run time from build/examples through $ORIGIN/..
TAS_EXAMPLES := echo_server rpc_client blast
TAS_EXAMPLE_BINS := $(TAS_EXAMPLES:%=$(BUILD)/examples/%)
TAS_EXAMPLE_OBJS := $(TAS_EXAMPLES:%=$(BUILD)/client/examples/%.o) \
	$(BUILD)/client/examples/sha256.o

$(BUILD)/examples/blast: $(BUILD)/client/examples/sha256.o

$(BUILD)/examples/%: $(BUILD)/client/examples/%.o $(LIBTAS_SO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -L$(BUILD) -ltas \
		-Wl,-rpath,'$$ORIGIN/..' -lpthread -lm

ALL_TARGETS += $(LIBTAS_SO) $(TAS_EXAMPLE_BINS)
ALL_OBJS += $(LIBTAS_OBJS) $(TAS_EXAMPLE_OBJS)

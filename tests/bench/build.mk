# tests/bench/build.mk - Linux-kernel baselines and the memcpy ceiling for
# `make bench` (tests/bench/run.sh). They use libc only, plus the examples'
# sha256.c where they hash like blast does, and client/examples/
# bench_common.c: the transport-independent code (options, patterns,
# percentiles, result lines) they share with the flextcp examples.

BENCH_PROGS := kecho_server krpc_client kblast memcpy_bw
BENCH_BINS := $(BENCH_PROGS:%=$(BUILD)/tests/bench/%)
BENCH_SHA_OBJ := $(BUILD)/client/examples/sha256.o
BENCH_COMMON_OBJ := $(BUILD)/client/examples/bench_common.o

# The examples' link rule (client/build.mk) links every .o prerequisite:
# this adds bench_common.o to each of them without touching that rule.
$(BUILD)/examples/echo_server $(BUILD)/examples/rpc_client \
$(BUILD)/examples/blast: $(BENCH_COMMON_OBJ)

$(BUILD)/tests/bench/kecho_server: $(BUILD)/tests/bench/kecho_server.o \
		$(BENCH_COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread

$(BUILD)/tests/bench/krpc_client: $(BUILD)/tests/bench/krpc_client.o \
		$(BENCH_COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/bench/kblast: $(BUILD)/tests/bench/kblast.o $(BENCH_SHA_OBJ) \
		$(BENCH_COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/bench/memcpy_bw: $(BUILD)/tests/bench/memcpy_bw.o \
		$(BENCH_SHA_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^

ALL_TARGETS += $(BENCH_BINS)
ALL_OBJS += $(BENCH_PROGS:%=$(BUILD)/tests/bench/%.o) $(BENCH_COMMON_OBJ)

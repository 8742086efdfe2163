# tests/bench/build.mk - Linux-kernel baselines and the memcpy ceiling for
# `make bench` (tests/bench/run.sh). They use libc only, plus the examples'
# sha256.c where they hash like blast does.

BENCH_PROGS := kecho_server krpc_client kblast memcpy_bw
BENCH_BINS := $(BENCH_PROGS:%=$(BUILD)/tests/bench/%)
BENCH_SHA_OBJ := $(BUILD)/client/examples/sha256.o

$(BUILD)/tests/bench/kecho_server: $(BUILD)/tests/bench/kecho_server.o
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread

$(BUILD)/tests/bench/krpc_client: $(BUILD)/tests/bench/krpc_client.o
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/bench/kblast: $(BUILD)/tests/bench/kblast.o $(BENCH_SHA_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/bench/memcpy_bw: $(BUILD)/tests/bench/memcpy_bw.o \
		$(BENCH_SHA_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^

ALL_TARGETS += $(BENCH_BINS)
ALL_OBJS += $(BENCH_PROGS:%=$(BUILD)/tests/bench/%.o)

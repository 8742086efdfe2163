# ctrl/build.mk - the daemon: ctrl/main.c plus the service library.
TAS_BIN := $(BUILD)/tas
$(TAS_BIN): $(BUILD)/ctrl/main.o $(SVC_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
ALL_TARGETS += $(TAS_BIN)
ALL_OBJS += $(BUILD)/ctrl/main.o

# tools/build.mk - tasctl (uses only include/).
TASCTL_BIN := $(BUILD)/tasctl
$(TASCTL_BIN): $(BUILD)/tools/tasctl.o
	$(CC) $(LDFLAGS) -o $@ $^
ALL_TARGETS += $(TASCTL_BIN)
ALL_OBJS += $(BUILD)/tools/tasctl.o

# tests/apps/build.mk - test-only programs that act as apps.
HOSTILE_BIN := $(BUILD)/tests/apps/hostile
$(HOSTILE_BIN): $(BUILD)/tests/apps/hostile.o
	$(CC) $(LDFLAGS) -o $@ $^
ALL_TARGETS += $(HOSTILE_BIN)
ALL_OBJS += $(BUILD)/tests/apps/hostile.o

# tests/hw/build.mk - hardware smoke tests: built with everything, run by
# tests/hw/*.sh, and skipped visibly when no device opens.

$(BUILD)/tests/hw/ibv_smoke: $(BUILD)/tests/hw/ibv_smoke.o $(SVC_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

ALL_TARGETS += $(BUILD)/tests/hw/ibv_smoke
ALL_OBJS += $(BUILD)/tests/hw/ibv_smoke.o

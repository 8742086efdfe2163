# Makefile - the one non-recursive build of the whole tree.
#
#   make                 daemon, libraries, tools, examples into build/
#   make CC=clang        the same with clang
#   make test            deps, format-check, gcc + clang builds, ASan/UBSan
#                        unit suites, brief fuzzing, namespace tests
#   make fuzz            every fuzz target for FUZZ_SECONDS each
#   make format          reformat the tree with .clang-format
#
# Variants are the same Makefile with another BUILD dir: SAN=1 adds
# ASan+UBSan, FUZZ=1 (with CC=clang) builds the libFuzzer targets.
# Directories add targets through optional */build.mk fragments.

BUILD ?= build
SAN ?= 0
FUZZ ?= 0
FUZZ_SECONDS ?= 60

PKGS := libibverbs librdmacm numa
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
	echo -libverbs -lrdmacm -lnuma)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

OPT ?= -O2
CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) -g -fPIC \
	-MMD -MP -Iinclude -I. $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(EXTRA_LDFLAGS)
LDLIBS := $(PKG_LIBS) -lpthread -lm

ifeq ($(SAN),1)
CFLAGS += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(FUZZ),1)
CFLAGS += -O1 -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -DTAS_FUZZ
LDFLAGS += -fsanitize=address,undefined
endif

# ---- service library: everything of verbs/, tcp/ and ctrl/ but main ----
SVC_SRCS := $(filter-out ctrl/main.c,$(wildcard verbs/*.c tcp/*.c ctrl/*.c))
SVC_OBJS := $(SVC_SRCS:%.c=$(BUILD)/%.o)
SVC_LIB := $(BUILD)/libsvc.a

# ---- unit tests: tests/unit/test_X.c, optional tests/unit/test_X.mk sets
# test_X_EXTRA (more sources) and test_X_LIBS (replaces LDLIBS) ----
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:%.c=$(BUILD)/%)

# Targets that fragments append to.
ALL_TARGETS := $(SVC_LIB)
ALL_OBJS := $(SVC_OBJS)

.PHONY: all test unit-bins fuzz-bins fuzz format format-check clean deps \
	demo bench install
all: real-all

-include $(sort $(wildcard */build.mk tests/*/build.mk))
-include $(wildcard tests/unit/test_*.mk)
-include $(wildcard tests/fuzz/fuzz_*.mk)

real-all: $(ALL_TARGETS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(SVC_LIB): $(SVC_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# Per unit test: its object, its extra sources, the service library.
define unit_rule
$(BUILD)/tests/unit/$(1): $(BUILD)/tests/unit/$(1).o \
		$$(patsubst %.c,$(BUILD)/%.o,$$($(1)_EXTRA)) $(SVC_LIB)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(if $$($(1)_LIBS),$$($(1)_LIBS),\
		$(LDLIBS)) $(CMOCKA_LIBS) -lpthread -lm
ALL_OBJS += $(BUILD)/tests/unit/$(1).o \
	$$(patsubst %.c,$(BUILD)/%.o,$$($(1)_EXTRA))
endef
$(foreach t,$(UNIT_SRCS:tests/unit/%.c=%),$(eval $(call unit_rule,$(t))))

define fuzz_rule
$(BUILD)/tests/fuzz/$(1): $(BUILD)/tests/fuzz/$(1).o \
		$$(patsubst %.c,$(BUILD)/%.o,$$($(1)_EXTRA)) $(SVC_LIB)
	$$(CC) $$(LDFLAGS) -fsanitize=fuzzer -o $$@ $$^ $(LDLIBS)
ALL_OBJS += $(BUILD)/tests/fuzz/$(1).o \
	$$(patsubst %.c,$(BUILD)/%.o,$$($(1)_EXTRA))
endef
$(foreach t,$(FUZZ_SRCS:tests/fuzz/%.c=%),$(eval $(call fuzz_rule,$(t))))

unit-bins: $(UNIT_BINS)
fuzz-bins: $(FUZZ_BINS)

deps:
	@bash ci/deps.sh

test: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory -j2 all
	@$(MAKE) --no-print-directory -j2 BUILD=build/clang CC=clang all
	@$(MAKE) --no-print-directory -j2 BUILD=build/asan SAN=1 all unit-bins
	@$(MAKE) --no-print-directory -j2 BUILD=build/fuzz CC=clang FUZZ=1 \
		fuzz-bins
	@bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory -j2 all
	@bash ci/demo.sh

bench: deps
	@$(MAKE) --no-print-directory -j2 all
	@bash tests/bench/run.sh

PREFIX ?= /usr/local
DESTDIR ?=
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include/tas $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BUILD)/tas $(BUILD)/tasctl $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(wildcard $(BUILD)/libtas*.so) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(wildcard include/tas_*.h) $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/tas/*.h $(DESTDIR)$(PREFIX)/include/tas/
	sed -e 's|@PREFIX@|$(PREFIX)|g' ci/libtas.pc.in \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/libtas.pc

fuzz: deps
	@$(MAKE) --no-print-directory -j2 BUILD=build/fuzz CC=clang FUZZ=1 \
		fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

FORMAT_FILES = $(shell git ls-files -co --exclude-standard '*.c' '*.h')
format:
	@clang-format -i $(FORMAT_FILES)

format-check:
	@out=$$(for f in $(FORMAT_FILES); do \
		clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || \
		echo "$$f"; done); \
	if [ -n "$$out" ]; then echo "format-check: needs clang-format:"; \
		echo "$$out"; exit 1; fi; echo "format-check: ok"

clean:
	rm -rf build

-include $(ALL_OBJS:.o=.d)

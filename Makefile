# qemount - top-level build.  Plain GNU make; quiet unless V=1.
#
#   make            tools and libqemount
#   make check      every test: unit TAP (codec, client vs our server, vs
#                   diod, vs a hostile server), the same under ASan, fuzz smoke
#   make asan       the unit tests built and run with ASan + UBSan
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make fuzz-seeds rewrite the seed corpus from the codec's byte vectors
#   make bench      9P throughput over a socketpair
#   make clean

CC      ?= cc
CLANG   ?= clang
CFLAGS  ?= -O2 -g
LDLIBS  ?= -pthread
# what the code needs, kept apart so CFLAGS=... on the command line adds
# to it rather than replacing it
QM_CFLAGS := -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -Ilib -Ilib/p9
B       ?= build
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard lib/p9/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
LIB     := $(B)/libqemount.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
UNIT_COMMON := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

.PHONY: all check unit asan fuzz fuzz-seeds fuzz-smoke bench clean
all: $(LIB)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(QM_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(AR) rcs $@ $^

$(B)/tests/%: tests/unit/%.c $(UNIT_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(QM_CFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(UNIT_COMMON) $(LIB) $(LDLIBS)

unit: $(UNIT_BIN)
	$(Q)prove -f -e '' $(UNIT_BIN)

check: unit asan fuzz-smoke

# The sanitizer build lives in its own tree so it never mixes with the
# normal objects.
asan:
	$(Q)$(MAKE) --no-print-directory B=$(B)/asan \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		LDLIBS="-pthread -fsanitize=address,undefined" unit

$(B)/fuzz/%: tests/fuzz/%.c lib/p9/codec.c lib/p9/p9.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CLANG) -g -O1 -D_GNU_SOURCE -Ilib/p9 \
		-fsanitize=fuzzer,address,undefined -o $@ $< lib/p9/codec.c

# Each target runs from its kept corpus (seeds: the codec's byte vectors)
# into a scratch copy, so a run never rewrites the repository.
define run_fuzz
	$(Q)for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		rm -rf $(B)/fuzz/work-$$n && mkdir -p $(B)/fuzz/work-$$n && \
		echo "  RUN     $$n ($(1) s)" && \
		$$f -max_total_time=$(1) -print_final_stats=1 \
			-artifact_prefix=$(B)/fuzz/ $(B)/fuzz/work-$$n \
			tests/fuzz/corpus/$$n >$(B)/fuzz/$$n.log 2>&1 || \
		{ tail -40 $(B)/fuzz/$$n.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units' $(B)/fuzz/$$n.log; \
	done
endef

# The seed corpus is the codec test's byte vectors.
fuzz-seeds: $(B)/tests/test_codec
	$(Q)$< --write-seeds tests/fuzz/corpus/fuzz_reply

fuzz: $(FUZZ_BIN)
	$(call run_fuzz,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZ_BIN)
	$(call run_fuzz,$(FUZZ_SMOKE_SECONDS))

$(B)/bench/p9bench: tests/bench/p9bench.c $(UNIT_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(QM_CFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(UNIT_COMMON) $(LIB) $(LDLIBS)

bench: $(B)/bench/p9bench
	$(Q)$(B)/bench/p9bench

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

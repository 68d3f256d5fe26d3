# qemount - top-level build.  Plain GNU make; quiet unless V=1.
#
#   make            the qemount tool (build/bin) and the guest (build/guests)
#   make demo       qemount tar on the bundled sample image
#   make check      every test: unit TAP (codec, client vs our server, vs
#                   diod, vs a hostile server), the same under ASan, fuzz
#                   smoke, and e2e (bats: real guests on testdata images)
#   make asan       the unit tests built and run with ASan + UBSan
#   make fuzz       the libFuzzer targets, FUZZ_RUNS executions each
#                   (default 10 million)
#   make fuzz-merge add what the last `make fuzz` found to the kept corpus
#   make fuzz-seeds rewrite the seeds from the unit tests' byte vectors
#   make bench      9P throughput over a socketpair, and qemount tar against
#                   guestfish and the no-VM readers (tests/bench/bench.sh)
#   make soak       SOAK_RUNS qemount tar runs (200), SOAK_PARALLEL at a time
#                   (4), each output checked, then nothing left behind; peak
#                   RSS (tests/soak/soak)
#   make clean

CC      ?= cc
CLANG   ?= clang
CFLAGS  ?= -O2 -g
LDLIBS  ?= -pthread $(shell pkg-config --libs libarchive blkid fuse3)
# what the code needs, kept apart so CFLAGS=... on the command line adds
# to it rather than replacing it
QM_CFLAGS := -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -Ilib -Ilib/p9 -Iconverters \
	     $(shell pkg-config --cflags libarchive blkid fuse3)
B       ?= build
FUZZ_RUNS ?= 10000000
FUZZ_SMOKE_SECONDS ?= 10

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard lib/*.c lib/p9/*.c converters/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
LIB     := $(B)/libqemount.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
UNIT_COMMON := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

CMD_SRC := $(wildcard cmd/*.c)
CMD_OBJ := $(CMD_SRC:%.c=$(B)/%.o)
BIN     := $(B)/bin/qemount
ALIASES := $(B)/bin/qm-tar $(B)/bin/qm-pack $(B)/bin/qm-mount
# the guests' Amiga formatter, built for the host too: the tests run it
MKFS_AFFS := $(B)/tools/mkfs.affs

GUEST      := linux-6.1
GUEST_DIR  := $(B)/guests/$(GUEST)
GUEST_OUT  := $(GUEST_DIR)/vmlinux $(GUEST_DIR)/initramfs.cpio \
	      $(GUEST_DIR)/initramfs-mkfs.cpio $(GUEST_DIR)/manifest
# shared by both guests: init and mkfs.affs (progs.sh), the Debian
# programs, the formatters
GUEST_COMMON := guests/$(GUEST)/init.c guests/$(GUEST)/progs.sh \
	      guests/$(GUEST)/mkfs-affs.c guests/$(GUEST)/debprogs.sh \
	      guests/$(GUEST)/mkfs.txt $(wildcard lib/p9/*.c lib/p9/*.h)
GUEST_SRC  := guests/$(GUEST)/build.sh guests/$(GUEST)/manifest $(GUEST_COMMON)

.PHONY: all tools guest demo check unit e2e asan fuzz fuzz-seeds fuzz-smoke fuzz-merge bench soak clean
all: tools guest
tools: $(BIN) $(ALIASES) $(MKFS_AFFS)
guest: $(GUEST_OUT)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(QM_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# tests/verified.txt built into `qemount guests`: one C initializer a row
$(B)/gen/verified.h: tests/verified.txt
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)awk '!/^#/ && NF >= 5 { t = $$0; \
		sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", t); \
		gsub(/\\/, "\\\\", t); gsub(/"/, "\\\"", t); \
		printf "{ \"%s\", \"%s\", \"%s\", \"%s\", \"%s\" },\n", \
			$$1, $$2, $$3, $$4, t }' $< > $@.tmp && mv $@.tmp $@

$(B)/cmd/guests.o: $(B)/gen/verified.h
$(B)/cmd/guests.o: QM_CFLAGS += -I$(B)/gen

$(BIN): $(CMD_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(QM_CFLAGS) $(CFLAGS) -o $@ $(CMD_OBJ) $(LIB) $(LDLIBS)

$(ALIASES): $(BIN)
	$(Q)ln -sf qemount $@

# One file, libc only: the guests build it static with musl (progs.sh).
$(MKFS_AFFS): guests/$(GUEST)/mkfs-affs.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) -std=gnu11 -Wall -Wextra -D_GNU_SOURCE $(CFLAGS) -o $@ $<

# The guest: Debian's kernel and modules, our init and 9P server (static
# musl).  The kernel package is downloaded once into $(GUEST_DIR)/cache.
$(GUEST_OUT) &: $(GUEST_SRC)
	@$(if $(Q),echo "  GUEST   $(GUEST_DIR)")
	$(Q)guests/$(GUEST)/build.sh $(GUEST_DIR) $(if $(Q),>$(B)/guest-build.log 2>&1 || { cat $(B)/guest-build.log; exit 1; })

# The lean guest (guests/linux-6.1-lean): Debian's linux-source-6.1 built
# with every driver in, the same init.  Its kernel build (minutes) is
# cached outside the checkout (see guests/linux-6.1-lean/kernel.sh).  Its
# manifest's @priority makes the registry prefer it for the filesystems
# it serves.
LEAN_DIR := $(B)/guests/linux-6.1-lean
LEAN_OUT := $(LEAN_DIR)/vmlinux $(LEAN_DIR)/initramfs.cpio \
	    $(LEAN_DIR)/initramfs-mkfs.cpio $(LEAN_DIR)/manifest $(LEAN_DIR)/cmdline
LEAN_SRC := $(wildcard guests/linux-6.1-lean/*) $(GUEST_COMMON)

.PHONY: guest-lean
guest: guest-lean
guest-lean: $(LEAN_OUT)

$(LEAN_OUT) &: $(LEAN_SRC)
	@$(if $(Q),echo "  GUEST   $(LEAN_DIR) (a first kernel build takes minutes)")
	$(Q)guests/linux-6.1-lean/build.sh $(LEAN_DIR) $(if $(Q),>$(B)/guest-lean-build.log 2>&1 || { cat $(B)/guest-lean-build.log; exit 1; })

$(LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(AR) rcs $@ $^

$(B)/tests/%: tests/unit/%.c $(UNIT_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(QM_CFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(UNIT_COMMON) $(LIB) $(LDLIBS)

# Test-only tools: qm-put writes into an image through a guest (no
# `qemount pack` yet), for tests/e2e/affs.bats; the hostile guest's
# initrd, for tests/e2e/hostile.bats.
HOSTILE := $(B)/tools/hostile-guest.cpio
TEST_TOOLS := $(B)/tools/qm-put $(HOSTILE)

$(B)/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(QM_CFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Its /init is tests/tools/hostile-guest.c over the codec, static with
# musl as the guests' own programs are (guests/linux-6.1/progs.sh); the
# test puts it next to the lean guest's kernel.
$(HOSTILE): tests/tools/hostile-guest.c lib/p9/codec.c lib/p9/p9.h
	@mkdir -p $(B)/tools/hostile-root
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)musl-gcc -static -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Ilib/p9 \
		-o $(B)/tools/hostile-root/init tests/tools/hostile-guest.c \
		lib/p9/codec.c
	$(Q)cd $(B)/tools/hostile-root && echo init | \
		cpio --quiet -o -H newc -R 0:0 --reproducible > $(abspath $@)

unit: $(UNIT_BIN)
	$(Q)prove -f -o -e '' $(UNIT_BIN)

# The main job on the bundled sample image, shown with bsdtar.
demo: tools guest
	$(Q)$(BIN) tar testdata/sample/sample.ext2 -o $(B)/sample.tar
	$(Q)bsdtar -tvf $(B)/sample.tar
	$(Q)bsdtar -xOf $(B)/sample.tar hello.txt

# End to end: the real guest under QEMU on the testdata images, the
# archives read back by bsdtar.
e2e: tools guest $(TEST_TOOLS)
	$(Q)$(MAKE) --no-print-directory -C testdata
	$(Q)prove -f -o -e bats tests/e2e/*.bats

check: unit asan fuzz-smoke e2e

# The sanitizer build lives in its own tree so it never mixes with the
# normal objects.
asan:
	$(Q)$(MAKE) --no-print-directory B=$(B)/asan \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		LDLIBS="$(LDLIBS) -fsanitize=address,undefined" unit

# Each target with the library sources it fuzzes.
FUZZ_LIB_fuzz_reply := lib/p9/codec.c
FUZZ_LIB_fuzz_image := lib/probe.c lib/parts.c
FUZZ_LDLIBS_fuzz_image := -lblkid

.SECONDEXPANSION:
$(B)/fuzz/%: tests/fuzz/%.c $$(FUZZ_LIB_%) $$(wildcard lib/*.h lib/p9/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CLANG) -g -O1 $(QM_CFLAGS) \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIB_$*) \
		$(FUZZ_LDLIBS_$*)

# Each target runs from its kept corpus (seeds: the unit tests' vectors)
# into a scratch copy, so a run never rewrites the repository; $(1) is
# libFuzzer's limit (time or runs).
define run_fuzz
	$(Q)for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		rm -rf $(B)/fuzz/work-$$n && mkdir -p $(B)/fuzz/work-$$n && \
		echo "  RUN     $$n ($(1))" && \
		$$f $(1) -print_final_stats=1 \
			-artifact_prefix=$(B)/fuzz/ $(B)/fuzz/work-$$n \
			tests/fuzz/corpus/$$n >$(B)/fuzz/$$n.log 2>&1 || \
		{ tail -40 $(B)/fuzz/$$n.log; exit 1; }; \
		grep -E 'stat::(number_of_executed_units|new_units_added)' \
			$(B)/fuzz/$$n.log; \
	done
endef

# The seeds are the unit tests' byte vectors: the codec's for fuzz_reply,
# the probes' for fuzz_image.
fuzz-seeds: $(B)/tests/test_codec $(B)/tests/test_probe
	$(Q)$(B)/tests/test_codec --write-seeds tests/fuzz/corpus/fuzz_reply
	$(Q)mkdir -p tests/fuzz/corpus/fuzz_image
	$(Q)$(B)/tests/test_probe --write-seeds tests/fuzz/corpus/fuzz_image \
		> /dev/null

fuzz: $(FUZZ_BIN)
	$(call run_fuzz,-runs=$(FUZZ_RUNS))

fuzz-smoke: $(FUZZ_BIN)
	$(call run_fuzz,-max_total_time=$(FUZZ_SMOKE_SECONDS))

# Keep what the last run found that reaches new code (libFuzzer -merge:
# the kept corpus grows only by inputs with new coverage).
fuzz-merge: $(FUZZ_BIN)
	$(Q)for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		$$f -merge=1 tests/fuzz/corpus/$$n $(B)/fuzz/work-$$n \
			2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files'; \
	done

$(B)/bench/p9bench: tests/bench/p9bench.c $(UNIT_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(QM_CFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(UNIT_COMMON) $(LIB) $(LDLIBS)

# 9P over a socketpair, then qemount tar against guestfish and the no-VM
# readers (tests/bench/bench.sh: RUNS, GF_RUNS, BENCH_LARGE=0).
bench: $(B)/bench/p9bench
	$(Q)$(B)/bench/p9bench
	$(Q)tests/bench/bench.sh

# Many qemount tar runs at once over the testdata images, each output
# checked; then no qemu, temp file or fd left (tests/soak/soak).  The
# e2e suite runs a short one (tests/e2e/soak.bats).
SOAK_RUNS ?= 200
SOAK_PARALLEL ?= 4
soak: tools guest
	$(Q)$(MAKE) --no-print-directory -C testdata
	$(Q)tests/soak/soak -n $(SOAK_RUNS) -j $(SOAK_PARALLEL)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# OCI images (docker/README.md): qemount/qemount (the top-level
# Dockerfile), qemount/guest-linux-6.1 and qemount/tar, built with buildah
# on a debootstrapped debian:bookworm, no Docker engine or registry; the
# tests run them with podman.  Settings: docker/containers.conf.
.PHONY: oci check-oci
oci:
	$(Q)V=$(V) B=$(B) docker/oci

check-oci: oci
	$(Q)$(MAKE) --no-print-directory -C testdata
	$(Q)prove -f -o -e bats tests/oci/*.bats

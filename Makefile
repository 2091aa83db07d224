# dsm build. `make` builds BPF objects, skeletons, the library, the daemons
# and the CLI; `make test` installs what is missing, builds and runs every
# test; `make demo` runs the demo cluster. Output goes to build/.

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := x86

O        := $(BUILD)
WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
# linker flags of the three programs (a distribution's hardening: debian/rules)
LDFLAGS  ?=
CPPFLAGS := -Iinclude -Ilib -I$(O) -I$(O)/bpf -D_GNU_SOURCE
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS   := -lbpf -lelf -lz -ljson-c -lsqlite3 -lssl -lcrypto
PKG_CONFIG ?= pkg-config
# libsystemd: dsmd's alarms to the journal (dsmd/alarm_sink.c)
SYSTEMD_CFLAGS := $(shell $(PKG_CONFIG) --cflags libsystemd)
SYSTEMD_LIBS   := $(shell $(PKG_CONFIG) --libs libsystemd)
BPFCFLAGS := -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -I$(O)

LIB_SRC   := $(wildcard lib/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(O)/%.o)
LIB_SAN   := $(LIB_SRC:%.c=$(O)/san/%.o)
BPF_SRC   := $(wildcard bpf/*.bpf.c)
BPF_OBJ   := $(BPF_SRC:%.bpf.c=$(O)/%.bpf.o)
BPF_SKEL  := $(BPF_SRC:%.bpf.c=$(O)/%.skel.h)
TPROG_SRC := $(wildcard tests/guest/progs/*.bpf.c)
TPROG_SKEL := $(TPROG_SRC:%.bpf.c=$(O)/%.skel.h)
TPROG_BIN := $(patsubst %.bpf.c,$(O)/%,$(TPROG_SRC))
BENCH_SRC := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:%.c=$(O)/%)
BENCH_BPF := $(wildcard bench/*.bpf.c)
BENCH_SKEL := $(BENCH_BPF:%.bpf.c=$(O)/%.skel.h)
TOOL_SRC  := $(wildcard tests/guest/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:%.c=$(O)/%)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:%.c=$(O)/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:%.c=$(O)/%)
LIB_FUZZ  := $(LIB_SRC:%.c=$(O)/fuzz/%.o)
FUZZFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

DSMD_SRC   := $(wildcard dsmd/*.c)
DSMCTL_SRC := $(wildcard dsmctl/*.c)
SERVER_SRC := $(wildcard server/*.c)
DAEMONS    := $(if $(DSMD_SRC),$(O)/dsmd) $(if $(DSMCTL_SRC),$(O)/dsmctl) $(if $(SERVER_SRC),$(O)/dsm-server)

.PHONY: all deps test unit fuzz headers calls guest-test vm-selftest demo bench bench-server clean
.PHONY: man units install deb FORCE
.SECONDARY:
.DELETE_ON_ERROR:

all: $(BPF_SKEL) $(O)/libdsm.a $(DAEMONS) $(TPROG_BIN) $(TOOL_BIN) $(BENCH_BIN) $(UNIT_BIN) $(FUZZ_BIN)
all: man units

# Every Debian package and the guest kernel; quick when nothing is missing.
deps:
	@scripts/deps.sh

# vmlinux.h comes from the build machine's own kernel BTF. CO-RE relocates
# every field access at load time, so the objects run on the guest kernel
# (Debian 6.1) and on the host alike; see docs/build.md.
$(O)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(O)/%.bpf.o: %.bpf.c $(O)/vmlinux.h $(wildcard include/dsm/*.h bpf/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPFCFLAGS) -Ibpf -c $< -o $@
	llvm-strip -g $@

$(O)/%.skel.h: $(O)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(O)/lib/%.o: lib/%.c $(wildcard lib/*.h include/dsm/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

$(O)/san/lib/%.o: lib/%.c $(wildcard lib/*.h include/dsm/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(SAN) -c $< -o $@

$(O)/libdsm.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/libdsm-san.a: $(LIB_SAN)
	@rm -f $@
	ar rcs $@ $^

$(O)/dsmd: $(DSMD_SRC) $(O)/libdsm.a $(BPF_SKEL) $(wildcard dsmd/*.h)
	$(CC) $(CPPFLAGS) -Idsmd $(SYSTEMD_CFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) $(DSMD_SRC) $(O)/libdsm.a $(LDLIBS) $(SYSTEMD_LIBS) -o $@

$(O)/dsmctl: $(DSMCTL_SRC) $(O)/libdsm.a $(wildcard dsmctl/*.h)
	$(CC) $(CPPFLAGS) -Idsmctl $(CFLAGS) $(WARN) $(LDFLAGS) $(DSMCTL_SRC) $(O)/libdsm.a $(LDLIBS) -o $@

$(O)/dsm-server: $(SERVER_SRC) $(O)/libdsm.a $(wildcard server/*.h lib/*.h)
	$(CC) $(CPPFLAGS) -Iserver $(CFLAGS) $(WARN) $(LDFLAGS) $(SERVER_SRC) $(O)/libdsm.a $(LDLIBS) -o $@

# Test-only BPF programs and their loaders (tests/guest/progs/foo.bpf.c +
# foo.c -> build/tests/guest/progs/foo).
$(O)/tests/guest/progs/%: tests/guest/progs/%.c $(O)/tests/guest/progs/%.skel.h $(O)/libdsm.a
	$(CC) $(CPPFLAGS) -I$(O)/tests/guest/progs $(CFLAGS) $(WARN) $< $(O)/libdsm.a $(LDLIBS) -o $@

# Test tools run inside guests (tests/guest/tools/foo.c -> build/.../foo).
# The deliberately vulnerable service is built without the mitigations its
# exploit test needs absent; nothing else is.
$(O)/tests/guest/tools/vuln_server: TOOL_FLAGS := -O0 -fno-stack-protector -no-pie -fcf-protection=none
$(O)/tests/guest/tools/probe: TOOL_LIBS := $(O)/libdsm.a -ljson-c -lcrypto
$(O)/tests/guest/tools/probe: $(O)/libdsm.a
$(O)/tests/guest/tools/rogue_server: TOOL_LIBS := $(O)/libdsm.a -ljson-c -lssl -lcrypto
$(O)/tests/guest/tools/rogue_server: $(O)/libdsm.a tests/unit/fake_frames.h
$(O)/tests/guest/tools/%: tests/guest/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(TOOL_FLAGS) $< $(TOOL_LIBS) -o $@

# Benchmark programs (bench/foo.c -> build/bench/foo), run in guests and
# on the host; they may use libbpf, dsm's skeletons and their own
# (bench/foo.bpf.c).
$(O)/bench/%: bench/%.c $(wildcard bench/*.h) $(BPF_SKEL) $(BENCH_SKEL)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(O)/bench $(CFLAGS) $(WARN) $< $(LDLIBS) -o $@

# ...except server_scale, which drives dsm-server and speaks the channel
# with lib/tls and lib/chan_msg (docs/performance.md, "The Security Server
# at scale").
$(O)/bench/server_scale: bench/server_scale.c $(O)/libdsm.a $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $< $(O)/libdsm.a $(LDLIBS) -lm -o $@

# Unit tests: cmocka, built with ASan and UBSan against a sanitized libdsm.
$(O)/tests/unit/%: tests/unit/%.c $(O)/libdsm-san.a $(wildcard tests/unit/*.h lib/*.h include/dsm/*.h) $(BPF_SKEL)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(UNIT_CFLAGS) $(CFLAGS) $(WARN) $(SAN) $< $(O)/libdsm-san.a $(LDLIBS) $(UNIT_LIBS) -lcmocka -o $@

# Unit tests that compile CLI or daemon sources in directly.
# (Explicit targets: a pattern rule without a recipe would add nothing.)
$(filter $(O)/tests/unit/test_dsmctl_%,$(UNIT_BIN)): $(wildcard dsmctl/*.c dsmctl/*.h)
$(filter $(O)/tests/unit/test_dsmd_%,$(UNIT_BIN)): $(wildcard dsmd/*.c dsmd/*.h)
# ...those that compile dsmd/alarm_sink.c in (with alarm.c) need libsystemd.
UNIT_SYSTEMD := $(addprefix $(O)/tests/unit/,test_dsmd_alarm test_dsmd_alarm_forward test_dsmd_alarm_sink)
$(UNIT_SYSTEMD): UNIT_CFLAGS := $(SYSTEMD_CFLAGS)
$(UNIT_SYSTEMD): UNIT_LIBS := $(SYSTEMD_LIBS)
$(filter $(O)/tests/unit/test_server_%,$(UNIT_BIN)): $(wildcard server/*.c server/*.h tests/unit/server_*.h)
# ...and the one that compiles the BPF helpers that are plain C as C.
$(O)/tests/unit/test_wire_native: bpf/siphash.h bpf/ipopt.h bpf/net_verify.h

unit: $(UNIT_BIN)
	@tests/run unit

# Fuzz targets: libFuzzer (clang) with ASan/UBSan, against a libdsm built
# the same way; `make fuzz` runs each for DSM_FUZZ_SECONDS (tests/run fuzz).
$(O)/fuzz/lib/%.o: lib/%.c $(wildcard lib/*.h include/dsm/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(FUZZFLAGS) $(WARN) -c $< -o $@

$(O)/libdsm-fuzz.a: $(LIB_FUZZ)
	@rm -f $@
	ar rcs $@ $^

$(O)/tests/fuzz/%: tests/fuzz/%.c $(O)/libdsm-fuzz.a $(wildcard lib/*.h include/dsm/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(FUZZFLAGS) -fsanitize=fuzzer $(WARN) $< $(O)/libdsm-fuzz.a $(LDLIBS) -o $@

fuzz: $(FUZZ_BIN)
	@tests/run fuzz

# Every header compiles by itself: each includes what it uses, so any
# include order works. BPF headers as BPF, host headers as C; the shared
# ones (include/dsm, the pure helpers in bpf/) both ways.
BPF_HDRS  := $(wildcard bpf/*.h include/dsm/*.h)
HOST_HDRS := $(wildcard include/dsm/*.h lib/*.h dsmd/*.h dsmctl/*.h server/*.h) \
	     bpf/ipopt.h bpf/siphash.h bpf/net_verify.h bpf/net_tcp.h
headers: $(O)/vmlinux.h
	@set -e; for h in $(BPF_HDRS); do \
		$(CLANG) $(BPFCFLAGS) -Ibpf -Ilib -Wno-unused-function -fsyntax-only -x c $$h; \
	done; for h in $(HOST_HDRS); do \
		$(CC) $(CPPFLAGS) -Idsmd -Idsmctl $(WARN) -Wno-unused-function -fsyntax-only -x c $$h; \
	done; echo "headers: $(words $(BPF_HDRS)) as BPF, $(words $(HOST_HDRS)) as C: each compiles alone"

# No dsmd or dsm-server source file is part of a call cycle with another.
calls:
	@scripts/check-calls dsmd
	@scripts/check-calls server

vm-selftest: all
	@tests/run vm-selftest

guest-test: all
	@tests/run guest

# Everything on Debian 12's kernel and the core subset on Debian 13's
# (tests/run all: both in one pool of guests).
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory headers
	@$(MAKE) --no-print-directory calls
	@scripts/deps.sh --kernel 6.12
	@tests/run all

demo: deps
	@$(MAKE) --no-print-directory all
	@demo/run

# The benchmark table and plot (docs/performance.md); about half an hour.
bench:
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory all
	@bench/run $(BENCH_ARGS)

# Only the Security Server at scale (bench/server_scale, about three minutes;
# docs/performance.md): SERVER_BENCH_ARGS="-n 2000 --pushes 9" for others.
bench-server:
	@$(MAKE) --no-print-directory $(O)/dsm-server $(O)/dsmctl $(O)/bench/server_scale
	@$(O)/bench/server_scale $(SERVER_BENCH_ARGS)

# ---- installation (docs/install.md) --------------------------------------
# `make install` puts what a node and a server need under PREFIX (the BPF
# objects are in dsmd itself, as skeletons); DESTDIR stages it elsewhere.
# The units, the tmpfiles.d entries and the example policy name the
# directories given here.
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
SBINDIR       ?= $(PREFIX)/sbin
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
MANDIR        ?= $(PREFIX)/share/man
UNITDIR       ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR   ?= $(PREFIX)/lib/tmpfiles.d
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
SCDOC         ?= scdoc

MAN_SRC  := $(wildcard man/*.scd)
MAN_OUT  := $(MAN_SRC:man/%.scd=$(O)/man/%)
UNIT_IN  := $(wildcard packaging/systemd/*.service.in)
TMPF_IN  := $(wildcard packaging/tmpfiles.d/*.conf.in)
TMPF_OUT := $(TMPF_IN:packaging/tmpfiles.d/%.in=$(O)/packaging/%)
UNIT_OUT := $(UNIT_IN:packaging/systemd/%.in=$(O)/packaging/%) $(TMPF_OUT)
SUBST     = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
		-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@LOCALSTATEDIR@|$(LOCALSTATEDIR)|g'

# The directories are part of what is generated: a change of one rebuilds.
$(O)/packaging/dirs: FORCE
	@mkdir -p $(@D)
	@echo '$(BINDIR) $(SBINDIR) $(SYSCONFDIR) $(LOCALSTATEDIR)' | cmp -s - $@ || \
		echo '$(BINDIR) $(SBINDIR) $(SYSCONFDIR) $(LOCALSTATEDIR)' > $@
$(O)/packaging/%.service: packaging/systemd/%.service.in $(O)/packaging/dirs
	$(SUBST) $< > $@.tmp && mv $@.tmp $@
$(O)/packaging/%.conf: packaging/tmpfiles.d/%.conf.in $(O)/packaging/dirs
	$(SUBST) $< > $@.tmp && mv $@.tmp $@
$(O)/packaging/example.policy: policy/example.policy $(O)/packaging/dirs
	sed -e 's|/usr/sbin/dsmd|$(SBINDIR)/dsmd|g' $< > $@.tmp && mv $@.tmp $@
units: $(UNIT_OUT) $(O)/packaging/example.policy

# Man pages: scdoc sources (man/NAME.SECTION.scd -> build/man/NAME.SECTION).
$(O)/man/%: man/%.scd
	@mkdir -p $(@D)
	$(SCDOC) < $< > $@.tmp && mv $@.tmp $@
man: $(MAN_OUT)

FORCE:

install: $(DAEMONS) man units
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSCONFDIR)/default \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(O)/dsmd $(O)/dsm-server $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(O)/dsmctl $(DESTDIR)$(BINDIR)/
	install -m 0644 $(filter %.service,$(UNIT_OUT)) $(DESTDIR)$(UNITDIR)/
	install -m 0644 $(TMPF_OUT) $(DESTDIR)$(TMPFILESDIR)/
	install -m 0644 packaging/bash-completion/dsmctl $(DESTDIR)$(BASHCOMPDIR)/dsmctl
	install -m 0644 $(filter %.5,$(MAN_OUT)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(filter %.8,$(MAN_OUT)) $(DESTDIR)$(MANDIR)/man8/
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/dsm $(DESTDIR)$(SYSCONFDIR)/dsm/pki \
		$(DESTDIR)$(LOCALSTATEDIR)/lib/dsm $(DESTDIR)$(LOCALSTATEDIR)/lib/dsm-server
	install -m 0600 $(O)/packaging/example.policy $(DESTDIR)$(SYSCONFDIR)/dsm/dsm.policy.example
	@# configuration an operator may have changed is never overwritten
	@for f in dsmd dsm-server; do \
		t=$(DESTDIR)$(SYSCONFDIR)/default/$$f; \
		if [ -e $$t ]; then echo "install: $$t kept"; \
		else echo "install -m 0644 packaging/default/$$f $$t"; \
			install -m 0644 packaging/default/$$f $$t || exit 1; fi; \
	done

# ---- Debian packages (docs/install.md, "Debian packages") ----------------
# debian/ packages the tracked files (as they are in the work tree) in a
# copy, build/deb/src, so this tree's build/ is left alone; the packages
# end up in build/deb/.
DEB_OUT := $(O)/deb
deb:
	@git -C "$(CURDIR)" rev-parse --git-dir >/dev/null 2>&1 || \
		{ echo "make deb: not a git work tree (it packages the tracked files)" >&2; exit 1; }
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_OUT)/src
	git -C "$(CURDIR)" ls-files -z >$(DEB_OUT)/files
	tar -C "$(CURDIR)" --null -T $(DEB_OUT)/files -cf $(DEB_OUT)/src.tar
	tar -C $(DEB_OUT)/src -xf $(DEB_OUT)/src.tar
	rm $(DEB_OUT)/files $(DEB_OUT)/src.tar
	@# debian/rules sets the variables: none of this make's reach it
	cd $(DEB_OUT)/src && unset MAKEFLAGS MFLAGS MAKELEVEL && dpkg-buildpackage --no-sign
	@ls $(DEB_OUT)/*.deb

clean:
	rm -rf $(O)/lib $(O)/san $(O)/fuzz $(O)/bpf $(O)/tests $(O)/*.a $(DAEMONS) $(O)/vmlinux.h $(O)/vm
	rm -rf $(O)/man $(O)/packaging $(O)/deb

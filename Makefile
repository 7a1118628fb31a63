# Provisioning API — build, run and test. `make help` lists the targets.
#
# Two variants share one source tree:
#   release (default): optimised, into bin/ and build/release/
#   asan:              AddressSanitizer + UBSan, into build/asan/bin/
# The tests run the asan variant; `make bench` and `make run` use release.

VARIANT ?= release
BUILD   := build/$(VARIANT)
ifeq ($(VARIANT),release)
BINDIR  := bin
VFLAGS  := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
else ifeq ($(VARIANT),asan)
BINDIR  := $(BUILD)/bin
VFLAGS  := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
VLDFLAGS := -fsanitize=address,undefined
else
$(error VARIANT must be release or asan)
endif

CC      ?= cc
PKGS    := fcgi libmariadb jansson libcurl libcrypto
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wno-format-nonliteral
# EXTRA_CFLAGS, EXTRA_LDFLAGS: added after the project's own (debian/rules
# passes dpkg-buildflags' hardening flags there).
CFLAGS  := $(WARN) -g -D_GNU_SOURCE -Icore -isystem /usr/include/ClearSilver \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(VFLAGS) $(EXTRA_CFLAGS)
LDLIBS  := -lneo_cgi -lneo_cs -lneo_utl -lz $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt
LDFLAGS := $(VLDFLAGS) $(EXTRA_LDFLAGS)

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
CORE_LIB := $(BUILD)/libprov.a

PANEL_SRC := cgi-bin/panel.c $(wildcard cgi-bin/page_*.c)
PANEL_OBJ := $(PANEL_SRC:%.c=$(BUILD)/%.o)
API_SRC   := $(wildcard cgi-bin/api*.c)
API_OBJ   := $(API_SRC:%.c=$(BUILD)/%.o)

CMDS     := $(patsubst cmd/%.c,%,$(wildcard cmd/*.c))
CMD_BINS := $(CMDS:%=$(BINDIR)/%)
FCGI_BINS := $(BINDIR)/cgi-bin/panel.fcgi $(BINDIR)/cgi-bin/api.fcgi

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Live tests: C tests of the core against the test instance's real MariaDB.
LIVE_SRC  := $(wildcard tests/live/test_*.c)
LIVE_BINS := $(LIVE_SRC:tests/live/%.c=$(BUILD)/live/%)

.SECONDARY:
.PHONY: all programs install deb asan deps run stop test test-unit test-integration test-bare test-cluster cluster cluster-stop bench lint format clean help fuzz fuzz-build
.DEFAULT_GOAL := all

all: $(CMD_BINS) $(FCGI_BINS) $(UNIT_BINS) $(LIVE_BINS)

# What is installed: the bin/ programs and the two FastCGI programs.
programs: $(CMD_BINS) $(FCGI_BINS)

asan:
	$(MAKE) VARIANT=asan all

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: $(BUILD)/cmd/%.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The dispatcher starts once per billing event when no service runs (and for
# --batch), so its start-up is most of its cost: loading Debian's shared
# libcurl alone maps ~30 libraries. The release
# build links Debian's static archives of its stack instead; what Debian ships
# no archive of stays shared (Kerberos for curl's GSSAPI, p11-kit for GnuTLS,
# SASL for LDAP). scripts/deps.sh installs the -dev packages with the archives.
# The list is libcurl's own (its pkg-config --static) between the rest of the
# stack, so a Debian release whose curl has other dependencies links too; a
# library with no archive on this machine is linked shared, and one with
# neither (a .pc may name more than its archive needs) is left out: probed with
# the compiler, which prints a bare name for a file it cannot find.
# The asan variant links the shared libraries (sanitizers, faster builds).
ifeq ($(VARIANT),release)
DISPATCH_PC = $(shell pkg-config --static --libs $(1) 2>/dev/null)
DISPATCH_WANT = mariadb jansson curl $(patsubst -l%,%,$(filter -l%,$(call DISPATCH_PC,libcurl))) \
                nghttp2 rtmp ssh2 psl ldap lber zstd brotlidec brotlicommon gnutls hogweed nettle gmp \
                tasn1 idn2 unistring $(patsubst -l%,%,$(filter -l%,$(call DISPATCH_PC,libssl libcrypto))) z
DISPATCH_HAS = $(filter /%,$(shell $(CC) $(filter -L%,$(call DISPATCH_PC,libcurl)) -print-file-name=lib$(1) 2>/dev/null))
DISPATCH_ARCHIVED = $(foreach l,$(DISPATCH_WANT),$(if $(call DISPATCH_HAS,$(l).a),$(l)))
DISPATCH_STATIC = $(addprefix -l,$(DISPATCH_ARCHIVED))
DISPATCH_SHARED = $(foreach l,$(filter-out $(DISPATCH_ARCHIVED),$(DISPATCH_WANT)),$(if $(call DISPATCH_HAS,$(l).so),-l$(l)))
DISPATCH_LDLIBS = $(filter -L%,$(call DISPATCH_PC,libcurl)) -Wl,-Bstatic $(DISPATCH_STATIC) \
                  -Wl,-Bdynamic $(DISPATCH_SHARED) -lsasl2 -lgssapi_krb5 -lp11-kit -lresolv -lm
DISPATCH_LDFLAGS ?= -Wl,-O1 -Wl,-z,pack-relative-relocs
else
DISPATCH_LDLIBS := $(shell pkg-config --libs libmariadb jansson libcurl libcrypto 2>/dev/null) -lz
endif
$(BINDIR)/prov-dispatchd: $(BUILD)/cmd/prov-dispatchd.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(DISPATCH_LDFLAGS) -Wl,--as-needed $^ $(DISPATCH_LDLIBS) -o $@

# prov-dispatch is the front billing starts per event: it hands the event to
# the resident service or execs prov-dispatchd. It needs libc only and is
# built with musl (Debian's musl-tools), statically, as a static-pie (ASLR
# kept). Its start-up is most of its cost: glibc's reads the CPU's features
# and cache sizes with dozens of CPUID instructions, each a trap to the
# hypervisor on a virtual machine (0.5 ms per start measured here; musl's
# start-up has none, 0.1 ms). Both variants build the same program, so the
# tests run what ships; the asan variant adds UBSan in trap mode (musl has no
# sanitizer runtimes) and ASan covers its code in the unit tests.
FRONT_CC  ?= musl-gcc
FRONT_SRC := cmd/prov-dispatch.c core/config.c core/netpolicy.c core/dispatch_service.c
FRONT_OBJ := $(FRONT_SRC:%.c=$(BUILD)/musl/%.o)
ifeq ($(VARIANT),release)
FRONT_VFLAGS := -O2 -fstack-protector-strong
else
FRONT_VFLAGS := -O1 -fsanitize=undefined -fsanitize-undefined-trap-on-error -fno-omit-frame-pointer
endif
$(BUILD)/musl/%.o: %.c
	@mkdir -p $(dir $@)
	$(FRONT_CC) $(WARN) -g -D_GNU_SOURCE -Icore $(FRONT_VFLAGS) $(EXTRA_CFLAGS) -MMD -MP -c $< -o $@

# musl-gcc's specs always name the dynamic loader, so the static-pie link is
# spelled out: musl's self-relocating start file, its libc.a, gcc's runtime.
MUSL_LIB ?= /usr/lib/$(subst -gnu,-musl,$(shell $(CC) -dumpmachine))
$(BINDIR)/prov-dispatch: $(FRONT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -nostdlib -static-pie -Wl,-z,now -Wl,-z,relro -o $@ $(MUSL_LIB)/rcrt1.o $(MUSL_LIB)/crti.o \
	  $$($(CC) -print-file-name=crtbeginS.o) $^ $(MUSL_LIB)/libc.a $$($(CC) -print-libgcc-file-name) \
	  $$($(CC) -print-file-name=crtendS.o) $(MUSL_LIB)/crtn.o

$(BINDIR)/cgi-bin/panel.fcgi: $(PANEL_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BINDIR)/cgi-bin/api.fcgi: $(API_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/live/%: $(BUILD)/tests/live/%.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

-include $(CORE_OBJ:.o=.d) $(PANEL_OBJ:.o=.d) $(API_OBJ:.o=.d) $(CMDS:%=$(BUILD)/cmd/%.d) \
         $(FRONT_OBJ:.o=.d) \
         $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.d) $(LIVE_SRC:tests/live/%.c=$(BUILD)/tests/live/%.d)

# Fuzzing: libFuzzer harnesses (tests/fuzz/fuzz_*.c) over a third build of
# the core, by clang with ASan + UBSan and libFuzzer's coverage hooks, into
# build/fuzz/. tests/fuzz/run.sh replays their corpora and fuzzes each for a
# few seconds in `make test`; `make fuzz` runs each for FUZZ_SECONDS.
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS  := $(WARN) -g -O1 -D_GNU_SOURCE -Icore -isystem /usr/include/ClearSilver \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CORE_OBJ := $(CORE_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_LIB     := $(FUZZ_DIR)/libprov.a
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)

$(FUZZ_DIR)/core/%.o: core/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -MF $@.d $< $(FUZZ_LIB) $(LDLIBS) -o $@

-include $(FUZZ_CORE_OBJ:.o=.d) $(FUZZ_BINS:=.d)

fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build ## run every fuzz harness FUZZ_SECONDS (600) each; findings in tests/output/fuzz/
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh long

# install: the packaged layout under DESTDIR and PREFIX (the programs' own
# defaults, templates_dir and the rest, name PREFIX=/usr: debian/rules).
PREFIX  ?= /usr/local
install: programs ## install the programs, FastCGI programs, templates, static files and schema (DESTDIR, PREFIX)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/provisioning/cgi-bin \
	  $(DESTDIR)$(PREFIX)/share/provisioning
	install -m 755 $(CMD_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(FCGI_BINS) $(DESTDIR)$(PREFIX)/lib/provisioning/cgi-bin/
	install -m 644 schema.sql $(DESTDIR)$(PREFIX)/share/provisioning/
	cp -R templates static $(DESTDIR)$(PREFIX)/share/provisioning/
	chmod -R u=rwX,go=rX $(DESTDIR)$(PREFIX)/share/provisioning

# deb: the Debian package, built by dpkg-buildpackage in a copy of the tree
# (so that its clean step leaves this tree's builds alone), into build/deb/
# with its .buildinfo and .changes; lintian must find no error in it. The
# version is debian/changelog's.
DEB_DIR := build/deb
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -SVersion)
deb: deps       ## build/deb/provisioning_VERSION_ARCH.deb (dpkg-buildpackage, then lintian)
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	tar -cf - --exclude-vcs --exclude=./build --exclude=./bin --exclude=./var --exclude=./node_modules \
	  --exclude=./tests/output . | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -b -us -uc -J$$(nproc)
	rm -rf $(DEB_DIR)/src
	lintian --fail-on error --info $(DEB_DIR)/provisioning_$(DEB_VERSION)_*.changes
	@ls -1 $(DEB_DIR)/*.deb

deps:           ## install missing Debian packages and npm modules
	scripts/deps.sh

# run, test and bench build in a second make: this one read the Makefile (and
# asked pkg-config for the libraries' flags) before deps installed them.
run: deps       ## start MariaDB, Apache, the dispatcher service and the retry worker on 127.0.0.1:$PROV_PORT (8080), with an admin user
	$(MAKE) all
	scripts/run.sh start

stop:           ## stop what `make run` started (worker, dispatcher service, Apache, MariaDB)
	scripts/run.sh stop

test: deps      ## build everything and run every test (unit, integration, browser)
	$(MAKE) all
	$(MAKE) VARIANT=asan all
	$(MAKE) fuzz-build
	$(MAKE) deb
	tests/run.sh

test-unit: asan ## unit tests only (asan build)
	tests/run.sh unit

test-bare:      ## make run + make test on bare Debian 12 and 13 roots (root, debootstrap)
	scripts/test-bare.sh $(RELEASES)

test-cluster: deps ## the cluster rehearsal under faults: 3 Galera nodes, haproxy, 2 web nodes, 2 billing hosts (asan build)
	$(MAKE) VARIANT=asan all
	tests/cluster/run.sh

cluster: deps   ## start the same cluster from the release build and leave it running (see README, Running on several hosts)
	$(MAKE) all
	scripts/cluster-run.sh start

cluster-stop:   ## stop what `make cluster` started
	scripts/cluster-run.sh stop

bench: deps     ## benchmarks (see README)
	$(MAKE) all
	tests/bench.sh

lint:           ## cppcheck + clang-format check
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
	  --suppress=missingIncludeSystem -Icore core cgi-bin cmd
	clang-format --dry-run --Werror core/*.[ch] cgi-bin/*.[ch] cmd/*.c tests/unit/*.c tests/live/*.c tests/fuzz/*.[ch]

format:
	clang-format -i core/*.[ch] cgi-bin/*.[ch] cmd/*.c tests/unit/*.c tests/live/*.c tests/fuzz/*.[ch]

clean:
	rm -rf build bin

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

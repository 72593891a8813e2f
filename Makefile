# tocsin — build, test, run, bench. No autotools: one Makefile, sources found by wildcard,
# so adding a module or a handler is adding a file.

CC      ?= cc
PKGS    := libpq libpcre2-8 libmicrohttpd jansson libssl libcrypto libcurl
CPPFLAGS_ALL = -D_GNU_SOURCE -Iengine -I. -Ibuild $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS  ?= -O2 -g
CFLAGS_ALL = -std=c17 -Wall -Wextra -Werror -pthread $(CFLAGS)
LDLIBS_ALL = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lesmtp -letpan -lm -pthread

ENGINE_SRC  := $(wildcard engine/*/*.c)
HANDLER_SRC := $(wildcard handlers/*.c)
LIB_SRC     := $(ENGINE_SRC) $(HANDLER_SRC) build/embedded.c
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
EMBED_FILES := $(sort $(wildcard migrations/*.sql) $(wildcard templates/*/*))
# The console's assets, pinned by web/package-lock.json (installed by `npm ci` in
# scripts/install-deps), embedded under short names: no CDN, no Node.js at run time.
WEB_ASSETS := web/static/htmx.min.js=web/node_modules/htmx.org/dist/htmx.min.js \
              web/static/pico.min.css=web/node_modules/@picocss/pico/css/pico.min.css
WEB_FILES  := $(sort $(wildcard web/console/* web/static/*))

# BUILD is the object directory; `make check` reuses every rule with a sanitizer build.
BUILD ?= build/obj
OBJ   = $(patsubst %.c,$(BUILD)/%.o,$(filter-out build/embedded.c,$(LIB_SRC))) $(BUILD)/embedded.o
UNIT_BIN = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOCSIN_BIN ?= tocsin

.PHONY: all deps test test-faults valgrind check run bench clean fuzz fuzz-bins format unit-bins
all: $(TOCSIN_BIN) unit-bins

$(TOCSIN_BIN): $(BUILD)/engine/main.o $(BUILD)/libtocsin.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/libtocsin.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c $(wildcard engine/*/*.h handlers/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/embedded.o: build/embedded.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

# Migrations and default templates are compiled into the binary, so an installed tocsin
# needs no data directory; templates can still be overridden from [engine] templates_dir.
build/embedded.c: build/embed $(EMBED_FILES) $(WEB_FILES) web/node_modules/.package-lock.json
	build/embed $(EMBED_FILES) $(WEB_FILES) $(WEB_ASSETS) > $@.tmp && mv $@.tmp $@

# npm ci writes this file; a newer lock file means the pinned versions changed.
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

build/embed: tools/embed.c
	@mkdir -p build
	$(CC) -std=c17 -Wall -Wextra -Werror -O2 -o $@ $<

unit-bins: $(UNIT_BIN)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtocsin.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libtocsin.a $(LDLIBS_ALL) -lcmocka

deps:
	@scripts/install-deps

test: deps
	@$(MAKE) --no-print-directory all
	@bench/get-postfix-tools >/dev/null || echo "make test: could not fetch Postfix's smtp-sink; its case will be skipped"
	@scripts/run-tests

# The fault suite at full size (the reduced one is t0008 inside `make test`); see
# docs/reliability.md.
test-faults: deps
	@$(MAKE) --no-print-directory all
	@tests/faults/run

# The daemon under valgrind --leak-check=full over a real run (docs/reliability.md).
valgrind: deps
	@$(MAKE) --no-print-directory all
	@tests/faults/valgrind

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer.
check: deps
	@$(MAKE) --no-print-directory BUILD=build/asan TOCSIN_BIN=build/asan/tocsin \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" all
	@bench/get-postfix-tools >/dev/null || echo "make check: could not fetch Postfix's smtp-sink; its case will be skipped"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		TOCSIN=$(CURDIR)/build/asan/tocsin UNIT_DIR=build/asan/tests scripts/run-tests

# Builds only the binary it runs (not the unit tests).
run: deps
	@$(MAKE) --no-print-directory $(TOCSIN_BIN)
	@scripts/run-local

bench:
	@scripts/install-deps bench
	@$(MAKE) --no-print-directory all
	@scripts/run-bench

# libFuzzer targets (clang): tests/fuzz/fuzz_NAME.c, each run by scripts/run-fuzz.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer

fuzz:
	@scripts/install-deps fuzz
	@$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz/obj CFLAGS="$(FUZZ_FLAGS)" fuzz-bins
	@scripts/run-fuzz

fuzz-bins: $(FUZZ_BIN)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libtocsin.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(BUILD)/libtocsin.a $(LDLIBS_ALL)

format:
	clang-format -i engine/*.c engine/*/*.[ch] handlers/*.[ch] tests/unit/*.c tools/*.c

clean:
	rm -rf build tocsin

# Builds and installs the C library: header, static and shared library, pkg-config file.
#
#   make install PREFIX=/usr/local          # builds in release mode, then installs
#   make install PREFIX=... LIBDIR_SRC=target/debug NO_BUILD=1
#
PREFIX ?= /usr/local
DESTDIR ?=
CARGO ?= cargo
LIBDIR_SRC ?= target/release
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

.PHONY: all build install header test test-deps

all: build

build:
ifndef NO_BUILD
	$(CARGO) build --release -p bitcask-ffi
endif

# Every test. The server's tests drive redis-cli, redis-benchmark, twemproxy and redis-py:
# installed first when missing (Debian redis-tools, redis-server, nutcracker; PyPI redis).
test: test-deps
	$(CARGO) test --workspace

test-deps:
	@scripts/install-test-deps

header:
	BITCASK_BLESS=1 $(CARGO) test -p bitcask-ffi --test header

install: build
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/bitcask.h $(DESTDIR)$(PREFIX)/include/bitcask.h
	install -m 644 $(LIBDIR_SRC)/libbitcask.a $(DESTDIR)$(PREFIX)/lib/libbitcask.a
	install -m 755 $(LIBDIR_SRC)/libbitcask.so $(DESTDIR)$(PREFIX)/lib/libbitcask.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' bitcask-ffi/bitcask.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/bitcask.pc
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' bitcask-ffi/bitcask-static.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/bitcask-static.pc

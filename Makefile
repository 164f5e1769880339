# vpar — convenience wrapper around CMake presets.
#   make test                 configure, build and run the whole suite (release)
#   make demo                 run the main workflow on built-in data
#   make bench [BENCH=name]   run the benchmarks (all, or one BENCH line)
#   make asan | make tsan     the suite under ASan+UBSan / ThreadSanitizer
#   make test-aarch64         cross-build and run the `cross` tests under qemu (NEON)
#   make install PREFIX=dir   install headers, CMake package and vpar.pc
#   make clean
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
BENCH  ?=
CTEST_FLAGS ?= --output-on-failure -j $(JOBS)

.PHONY: all build test demo bench asan tsan debug test-aarch64 install clean

all: build

build/%/CMakeCache.txt:
	cmake --preset $* >/dev/null

build: build/release/CMakeCache.txt
	cmake --build build/release -j $(JOBS)

test: build
	cd build/release && ctest $(CTEST_FLAGS)

debug: build/debug/CMakeCache.txt
	cmake --build build/debug -j $(JOBS)
	cd build/debug && ctest $(CTEST_FLAGS)

asan: build/asan/CMakeCache.txt
	cmake --build build/asan -j $(JOBS)
	cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS)

tsan: build/tsan/CMakeCache.txt
	cmake --build build/tsan -j $(JOBS)
	cd build/tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest $(CTEST_FLAGS)

test-aarch64: build/aarch64/CMakeCache.txt
	cmake --build build/aarch64 -j $(JOBS)
	cd build/aarch64 && ctest $(CTEST_FLAGS) -L cross

# Only the three programs the demo runs, not the whole test suite.
demo: build/release/CMakeCache.txt
	cmake --build build/release -j $(JOBS) --target vpar-simnet vpar-egad vpar-aggregate
	bash examples/demo.sh build/release

bench: build/bench/CMakeCache.txt
	cmake --build build/bench -j $(JOBS)
	VPAR_BUILD_DIR=$(CURDIR)/build/bench bash bench/run_all.sh $(BENCH)

install: build/release/CMakeCache.txt
	cmake --build build/release -j $(JOBS)
	cmake --install build/release --prefix $(PREFIX)

clean:
	rm -rf build

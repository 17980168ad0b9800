# The two commands: `make demo` runs the main job, `make test` runs the test suite. Both bootstrap first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 300
# Clones at different paths share compiler-cache entries (paths under the checkout are made relative).
export CCACHE_BASEDIR := $(CURDIR)

.PHONY: all bootstrap configure build test demo fuzz bench clean

all: build

bootstrap:
	@scripts/bootstrap

configure: bootstrap
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

demo: build
	$(BUILD)/slm demo

# Longer fuzzing runs than CI's: make fuzz FUZZ_SECONDS=3600
fuzz: bootstrap
	@cmake -S . -B $(BUILD)-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLM_BUILD_FUZZ=ON \
	  -DSLM_BUILD_TESTS=OFF -DSLM_BUILD_BENCH=OFF \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	@cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_targets
	scripts/fuzz $(BUILD)-fuzz $(FUZZ_SECONDS)

bench: build
	$(BUILD)/slm bench --help

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz

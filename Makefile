# The two commands: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup configure build run test fuzz bench clean

setup:
	@$(SUDO) ./scripts/setup.sh

configure: setup
	@[ -f $(BUILD_DIR)/build.ninja ] || cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	./$(BUILD_DIR)/radflow serve

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j 1 --timeout 900

bench: build
	python3 bench/ingest_bench.py

clean:
	rm -rf $(BUILD_DIR) build-fuzz

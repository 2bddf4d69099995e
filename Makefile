# The two commands of the README, and the pieces they are made of.
#   make run    set up, build, and run the main job
#   make test   set up, build, and run the whole test suite
PRESET ?= release
BUILD := build/$(PRESET)
GREENAI := $(BUILD)/src/cli/greenai
WERROR ?= OFF

.PHONY: run test setup build test-asan install-check fuzz-check edge-portable test-aarch64 bench forecast clean

# The main job: every green technique end to end; results.json and report.html in build/pipeline.
run: build
	$(GREENAI) pipeline --out build/pipeline $(if $(COUNTRY),--country $(COUNTRY)) $(PIPELINE_FLAGS)
	@echo "report: build/pipeline/report.html"

# Taylor's demand series (exported by scripts/setup): every model's day-ahead MAPE on its last
# two weeks, the forecasts as CSV and a chart.
forecast: build
	mkdir -p build/forecast
	$(GREENAI) forecast --out build/forecast/taylor.csv --svg build/forecast/taylor.svg
	@echo "chart: build/forecast/taylor.svg"

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j2

setup:
	scripts/setup

build: setup
	cmake --preset $(PRESET) -DGREENAI_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD) -j2

# Everything that does not link LibTorch, under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: setup
	cmake --preset asan-ubsan -DGREENAI_WERROR=$(WERROR) >/dev/null
	cmake --build build/asan-ubsan -j2
	ctest --test-dir build/asan-ubsan --output-on-failure -j2

# Installs into a scratch prefix and builds a tiny consumer with find_package(greenai).
install-check: build
	rm -rf build/install build/consumer
	cmake --install $(BUILD) --prefix build/install >/dev/null
	cmake -S tests/consumer -B build/consumer -G Ninja -DCMAKE_PREFIX_PATH=$(CURDIR)/build/install >/dev/null
	cmake --build build/consumer
	build/consumer/consumer
	PYTHONPATH=$$(ls -d $(CURDIR)/build/install/lib/python3*/dist-packages) /usr/bin/python3 -c \
	  'import greenai; t = greenai.Tracker(); t.start(); print("installed python package:", greenai.__version__, t.stop().provenance)'

# Builds the libFuzzer targets (edge loader, NumPy reader, ONNX importer) with clang (ASan +
# UBSan) and runs each for
# FUZZ_SECONDS on a copy of its seed corpus; crashes are written under build/fuzz/.
FUZZ_SECONDS ?= 30
fuzz-check: setup
	CXX=clang++ CC=clang cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DGREENAI_WITH_TORCH=OFF -DGREENAI_WITH_PYTHON=OFF -DGREENAI_BUILD_TESTS=OFF -DGREENAI_BUILD_BENCH=OFF -DGREENAI_BUILD_FUZZ=ON \
	  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
	  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
	cmake --build build/fuzz --target edge_loader_fuzz npy_fuzz onnx_import_fuzz
	set -e; for target in edge_loader:4096 npy:4096 onnx_import:8192; do \
	  name=$${target%%:*}; max_len=$${target##*:}; \
	  rm -rf build/fuzz/corpus-$$name && cp -r tests/fuzz/corpus/$$name build/fuzz/corpus-$$name; \
	  (cd build/fuzz && ./$${name}_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=$$max_len corpus-$$name \
	    > $$name.log 2>&1) \
	    || { grep -E "ERROR|runtime error|SUMMARY" build/fuzz/$$name.log | head -5; \
	         echo "fuzz-check: $$name crashed; the input is written under build/fuzz/"; exit 1; }; \
	  echo "$$name: $$(tail -1 build/fuzz/$$name.log)"; \
	done

# The portable greenai-edge (static, musl, no C++ standard library), checked to give the very
# outputs of the main build's on every seed model of the fuzz corpus.
edge-portable: build
	scripts/build-edge-portable build/edge-portable
	for model in tests/fuzz/corpus/edge_loader/*.edge; do \
	  $(BUILD)/src/greenai-edge $$model > build/edge-portable/expected.txt 2>&1; \
	  build/edge-portable/greenai-edge $$model > build/edge-portable/got.txt 2>&1; \
	  cmp -s build/edge-portable/expected.txt build/edge-portable/got.txt \
	    || { echo "edge-portable: $$model differs"; exit 1; }; \
	done
	@echo "edge-portable: same outputs as the main build on every seed model"

# The edge runtime cross-built for 64-bit ARM and tested under qemu-user on a CPU without the dot
# product (Cortex-A53) and one with it (Cortex-A76); a static aarch64 greenai-edge.
test-aarch64: setup
	WERROR=$(WERROR) scripts/test-aarch64 build/aarch64

bench: build
	$(BUILD)/bench/greenai_sampling_bench
	$(BUILD)/bench/greenai_overhead_bench
	$(BUILD)/bench/greenai_edge_side_by_side
	$(BUILD)/bench/greenai_schedule_bench $(SCHEDULE_SERIES)

clean:
	rm -rf build

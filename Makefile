# Targets as in Kubewarden's Rust policies, plus demo, check, bench and push.
SOURCE_FILES := $(shell find src -type f) Cargo.toml Cargo.lock
E2E := e2e-tests
KWCTL ?= $(or $(wildcard ../shared/bin/kwctl),kwctl)
REGISTRY ?= $(shell sed -n "s/^  io.kubewarden.policy.ociUrl: *//p" metadata.yml)
VERSION := $(shell sed -n 's/^  io.kubewarden.policy.version: *//p' metadata.yml)

.PHONY: toolchain
toolchain:
	@rustup target add wasm32-wasip1 >/dev/null 2>&1 || rustup target add wasm32-wasip1
	@rustup component add rustfmt clippy >/dev/null 2>&1 || rustup component add rustfmt clippy

policy.wasm: $(SOURCE_FILES) | toolchain
	cargo --locked build --target=wasm32-wasip1 --release
	cp target/wasm32-wasip1/release/secure_pod_defaults.wasm policy.wasm

annotated-policy.wasm: policy.wasm metadata.yml README.md
	$(KWCTL) annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

.PHONY: fmt
fmt: toolchain
	cargo fmt --all -- --check
	cd $(E2E) && cargo fmt --all -- --check

.PHONY: lint
lint: toolchain
	cargo clippy --locked --all-targets -- -D warnings
	cd $(E2E) && cargo clippy --locked --all-targets -- -D warnings

.PHONY: test
test: fmt lint
	cargo test --locked --lib --bins --tests

# The e2e cases run through the built wasm in the project's own host, and
# through `kwctl run` as well when KWCTL names a kwctl binary.
.PHONY: e2e-tests
e2e-tests: policy.wasm
	cd $(E2E) && cargo test --locked --no-fail-fast --lib --bins --tests -- --nocapture

# Every test: formatting, lints, unit tests, e2e cases.
.PHONY: check
check: test e2e-tests

# Builds the policy and shows it answering the requests in examples/.
.PHONY: demo
demo: policy.wasm
	cd $(E2E) && cargo run --locked --quiet --bin demo -- ../policy.wasm ../examples

# The floor of any policy's cost, built with the same SDK and profile.
FLOOR := bench/floor
FLOOR_WASM := $(FLOOR)/target/wasm32-wasip1/release/floor.wasm

$(FLOOR_WASM): $(shell find $(FLOOR)/src -type f) $(FLOOR)/Cargo.toml $(FLOOR)/Cargo.lock | toolchain
	cd $(FLOOR) && cargo --locked build --target=wasm32-wasip1 --release

# The real hosts, from the sibling folder CI provides when they are there.
# Empty or absent binaries make `make bench` print the guest figures alone.
POLICY_SERVER ?= $(wildcard ../shared/bin/policy-server)
# A path relative to this folder, made absolute for the bench run in $(E2E).
bench_path = $(if $(findstring /,$(1)),$(abspath $(1)),$(1))

# Measures the policy next to the floor: in the guest on the requests in
# bench/requests and on large generated ones, and at one policy-server
# serving both on 127.0.0.1 under load from wrk (installed here with
# apt-get when missing). It prints the targets met and missed; a miss does
# not fail the build. `kwctl bench` runs as well when KWCTL is given.
.PHONY: bench
bench: policy.wasm $(FLOOR_WASM) bench-load-generator
	cd $(E2E) && cargo run --release --locked --quiet --bin bench -- \
		--policy-server "$(call bench_path,$(POLICY_SERVER))" \
		--kwctl "$(call bench_path,$(KWCTL))" \
		$(if $(filter command line environment,$(origin KWCTL)),--kwctl-bench) \
		../policy.wasm ../$(FLOOR_WASM) ../bench/requests

# wrk, Debian's package, when there is a policy-server to load; without it
# the bench says so and prints the guest figures alone.
.PHONY: bench-load-generator
bench-load-generator:
	@if [ -n "$(POLICY_SERVER)" ] && ! command -v wrk >/dev/null 2>&1; then \
		echo "installing wrk (apt-get)"; \
		{ apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
			|| echo "could not install wrk"; \
	fi

.PHONY: push
push: annotated-policy.wasm
	$(KWCTL) push annotated-policy.wasm $(REGISTRY):v$(VERSION)

.PHONY: clean
clean:
	cargo clean
	cd $(E2E) && cargo clean
	rm -f policy.wasm annotated-policy.wasm

# Fuzzing with cargo-fuzz and libFuzzer (no sanitizer, so the stable
# toolchain builds it). FUZZ_SECONDS per target; the request target starts
# from every e2e case as a seed.
FUZZ_SECONDS ?= 600
.PHONY: fuzz
fuzz: toolchain
	cargo install cargo-fuzz --locked --quiet
	cd $(E2E) && cargo run --locked --quiet --bin fuzz_corpus -- cases ../fuzz/corpus/request
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none --fuzz-dir . request corpus/request -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none --fuzz-dir . settings -- -max_total_time=$(FUZZ_SECONDS) -timeout=10

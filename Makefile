# Targets as in Kubewarden's Rust policies, plus demo, check, bench and push.
SOURCE_FILES := $(shell find src -type f) Cargo.toml Cargo.lock
E2E := e2e-tests
KWCTL ?= kwctl
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

# Measures the policy next to the floor on the requests in bench/requests
# (and `kwctl bench` as well when KWCTL names a kwctl binary). It prints the
# targets met and missed; a miss does not fail the build.
.PHONY: bench
bench: policy.wasm $(FLOOR_WASM)
	cd $(E2E) && cargo run --release --locked --quiet --bin bench -- \
		../policy.wasm ../$(FLOOR_WASM) ../bench/requests

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

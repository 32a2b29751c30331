# fiberbnn: two commands on a fresh machine.
#
#   make lab     set up everything (idempotent), then start JupyterLab on 127.0.0.1 with a token, on notebooks/
#   make test    set up everything, then go vet, all Go tests, and every notebook executed headless
#
# Other targets: setup, doctor, vet, gotest (FUZZTIME=8s per fuzzer; 0 skips fuzzing), notebooks, bench, bench-quick, bench-peers, bench-scaling, soak, gobench, clean (removes bin/, .venv/, notebooks/_out/).
# Docker (docker/README.md): docker-recipe-check (part of test), docker-context, docker-image, docker-check.
# Set-up lives in the checkout (bin/, .venv/) and in $(FIBERBNN_HOME) (default ~/.cache/fiberbnn).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

export FIBERBNN_HOME ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/fiberbnn
# XLA on CPU through the plugin the set-up installs; never let GoMLX download one on its own.
export PJRT_PLUGIN_LIBRARY_PATH := $(FIBERBNN_HOME)/pjrt$(if $(PJRT_PLUGIN_LIBRARY_PATH),:$(PJRT_PLUGIN_LIBRARY_PATH))
export GOMLX_NO_AUTO_INSTALL ?= 1
# Reference data: ../shared/data beside the checkout unless FIBERBNN_DATA says otherwise.
ifeq ($(FIBERBNN_DATA),)
ifneq ($(wildcard $(CURDIR)/../shared/data),)
export FIBERBNN_DATA := $(abspath $(CURDIR)/../shared/data)
endif
endif
export PATH := $(CURDIR)/bin:$(PATH)

.PHONY: all setup lab test doctor vet gotest notebooks bench bench-quick gobench clean docker-recipe-check docker-context docker-image docker-check

all: test

setup:
	@scripts/setup.sh

lab: setup
	@scripts/lab.sh

test: setup
	@$(MAKE) --no-print-directory vet gotest notebooks bench-quick docker-recipe-check

doctor:
	@bin/fiberkernel doctor

vet:
	@echo "== go vet ./..."
	@go vet ./...
	@echo "go vet: ok"

gotest:
	@scripts/gotest.sh

notebooks:
	@echo "== notebooks (headless, through fiberkernel run)"
	@bin/fiberkernel run

# The literature benchmarks (cmd/fiberbench; see bench/README.md). Full protocol by default (hours on 2
# cores); e.g. make bench BENCH_ARGS="-mode full -study uci-reg -splits 2" or add -resume to continue a run.
BENCH_ARGS ?= -mode full
bench:
	go run ./cmd/fiberbench $(BENCH_ARGS)

# Quick mode (one small set, one split, short schedules) into a temporary folder; fails if any method fails.
bench-quick:
	@echo "== fiberbench quick mode"
	@out=$$(mktemp -d) && go run ./cmd/fiberbench -mode quick -strict -out "$$out" && \
		grep -q "Fiber walk + flow" "$$out/results.md" && test -s "$$out/plots/uci-reg_bostonHousing_nll_vs_cost.svg" && \
		rm -rf "$$out" && echo "fiberbench quick: ok"

# Go micro-benchmarks of the backend.
gobench:
	go test -run '^$$' -bench . -benchtime 2s ./fiberlib/backend/

# The Docker image's install recipe, checked on this host (no root, no Docker engine needed). It checks what
# `make setup` installed (test runs setup first; alone: make setup docker-recipe-check).
docker-recipe-check:
	@echo "== docker image recipe (docker/install.sh check)"
	@docker/install.sh check

# Docker build context (build/docker-context) and image; DOCKER=podman works too. CUDA=13 (or 12): GPU image.
DOCKER ?= docker
DOCKER_CONTEXT ?= $(CURDIR)/build/docker-context
docker-context:
	@docker/context.sh "$(DOCKER_CONTEXT)"

docker-image: docker-context
	$(DOCKER) build -f "$(DOCKER_CONTEXT)/fiberbnn/docker/Dockerfile" $(if $(CUDA),--build-arg CUDA=$(CUDA) -t fiberbnn:cuda$(CUDA),-t fiberbnn:cpu) "$(DOCKER_CONTEXT)"

# A real image build without a Docker engine (buildah, chroot isolation, a debootstrapped base, the local Go).
# Needs root and Debian's package mirror; not part of test.
docker-check:
	@docker/buildah-check.sh

clean:
	rm -rf bin .venv notebooks/_out

.PHONY: bench-peers bench-scaling

# Side-by-side benchmark against the Python peers (JAX, laplace-torch) in their own virtual environment
# (.cache/venv-peers, created on first use); prints the ratio table (bench/peers/README.md).
bench-peers:
	@scripts/bench-peers.sh

# Cost of the walk, Laplace fit and flow sampling as P (1e3 → 1e6) and N grow, with SVG plots.
bench-scaling:
	@scripts/bench-peers.sh scaling

.PHONY: soak
# Soak test (not part of test): 50 walk + flow cycles in one process; fails if memory grows after warm-up.
soak:
	go run ./cmd/fibersoak

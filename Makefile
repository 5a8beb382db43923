# Every target creates .venv on first use and installs the package (editable) with its test extras.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install train test bench accuracy clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(BIN)/python -m tagger.train $(ARGS)

# Two processes (pytest-xdist), each test file whole in one of them, so module fixtures are made once.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(ARGS)

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)

accuracy: $(STAMP)
	$(BIN)/python scripts/accuracy.py $(ARGS)

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache

# One-command set-up: every target that needs tools depends on the pinned .venv.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MPYLIB := $(VENV)/mpylib

.PHONY: install test bench run mpy clean

install: $(STAMP)

$(STAMP): requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	# embit (pinned, from PyPI) on the MicroPython path without the rest of site-packages
	mkdir -p $(MPYLIB)
	ln -sfn "$$($(BIN)/python -c 'import embit,os;print(os.path.dirname(embit.__file__))')" $(MPYLIB)/embit
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build bench/results.json

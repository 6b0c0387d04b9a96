# One-command set-up: every target that needs tools depends on the pinned .venv.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MPYLIB := $(VENV)/mpylib

.PHONY: install test bench run clean flash bundle

# make run DEVICE=/dev/ttyACM0 RELAYS="wss://relay.nsec.app wss://nos.lol" for hardware;
# with no DEVICE: local relay + simulated device + bridge (python -m bridge demo), the
# relay on PORT (make run PORT=7778 beside another one). PORT is also flash's serial
# port (below): a path there means "not given" here.
DEVICE ?=
RELAYS ?=
RELAY_PORT = $(if $(filter-out /%,$(PORT)),$(PORT),7777)
# The simulated device's heap: the device's 128 KB (the firmware's code runs in place
# from a ROMFS image, as on a board: bridge/rom.py).
SIM_HEAP ?= 128K

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

run: install
ifeq ($(DEVICE),)
	$(BIN)/python -m bridge demo --heap $(SIM_HEAP) --port $(RELAY_PORT) $(foreach r,$(RELAYS),--relay $(r))
else
	$(BIN)/python -m bridge run --device $(DEVICE) $(foreach r,$(RELAYS),--relay $(r))
endif

bench: install
	$(BIN)/python bench/run.py

# Hardware (hardware/README.md): make flash BOARD=pico|tdisplay PORT=/dev/ttyACM0 [WIPE=1]
# [ROMFS=1] flashes the board in maintenance mode (hold LEFT while plugging in); the
# keystore is kept unless WIPE=1. ROMFS=1 puts the firmware into the board's ROMFS
# partition (MicroPython 1.25+ built with one) so its code runs from flash, not the heap.
# make bundle BOARD=... builds the same files under build/bundle/.
BOARD ?= pico
PORT ?= /dev/ttyACM0
WIPE ?= 0
ROMFS ?= 0

flash: install
	$(BIN)/python tools/flash.py flash --board $(BOARD) --port $(PORT)$(if $(filter 1,$(WIPE)), --wipe)$(if $(filter 1,$(ROMFS)), --romfs)

bundle: install
	$(BIN)/python tools/flash.py bundle --board $(BOARD)

clean:
	rm -rf $(VENV) build bench/results.json

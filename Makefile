# Entry points. `make demo` runs the main job (the TLS client demo on the virtual board), `make test`
# the test suite; both set everything up on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-done
PORT   ?=
PYTEST_ARGS ?=

.PHONY: setup test test-qemu qemu-firmware demo bench fuzz soak firmware flash repl clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/system-deps.sh
	scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,fuzz]'
	touch $@

test: setup
	$(VENV)/bin/pytest $(if $(PORT),--port $(PORT)) $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/spwf04 demo $(if $(PORT),--port $(PORT)) $(DEMO_ARGS)

# The 32-bit board (MicroPython's qemu port with the F401RE's heap; docs/virtual-boards.md). Needs a MicroPython
# tree: make test-qemu MICROPY_DIR=~/src/micropython. The board-level suites, run on that board:
QEMU_TESTS ?= tests/qemu tests/test_client_socket.py tests/driver/test_driver_board.py tests/compat \
	tests/faults/test_fault_matrix.py tests/test_deploy_romfs_qemu.py tests/test_ntp.py tests/cert/test_diagnosis_repl.py
test-qemu: setup
	$(if $(MICROPY_DIR),MICROPY_DIR=$(MICROPY_DIR)) $(VENV)/bin/pytest --qemu $(QEMU_TESTS) $(PYTEST_ARGS)

qemu-firmware: setup
	$(VENV)/bin/spwf04 board --qemu --build-only $(if $(MICROPY_DIR),--micropython-dir $(MICROPY_DIR))

repl: setup
	$(VENV)/bin/spwf04 repl $(if $(PORT),--port $(PORT))

bench: setup
	$(VENV)/bin/spwf04 bench

fuzz: setup
	$(VENV)/bin/python -m spwf04_tools.fuzz --seconds $(or $(FUZZ_SECONDS),300)

soak: setup
	$(VENV)/bin/pytest -m soak --soak $(PYTEST_ARGS)

# The firmware needs only arm-none-eabi-gcc, the MicroPython tree and a Python: the venv's when there is
# one, else python3 on host_tools (the firmware tool uses the standard library only). No setup, no apt, no
# pip, no network (FETCH_SUBMODULES=1 fetches missing submodules only, never moves present ones).
firmware:
	PYTHONPATH=host_tools $(if $(wildcard $(PY)),$(PY),$(PYTHON)) -m spwf04_tools.cli firmware \
		$(if $(MICROPY_DIR),--micropython-dir $(MICROPY_DIR)) -j $(or $(JOBS),2) $(if $(FETCH_SUBMODULES),--fetch-submodules)

$(VENV)/bin/spwf04:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .

flash: $(VENV)/bin/spwf04
	$(VENV)/bin/pip show --quiet pyocd >/dev/null 2>&1 || $(VENV)/bin/pip install --quiet -e '.[flash]'
	$(VENV)/bin/spwf04 flash $(FLASH_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache

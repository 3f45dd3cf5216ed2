# Two commands do all set-up on a fresh machine: `make dev` (run the platform) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: dev test lint-imports setup setup-test browser-deps media-deps proxy-deps bench screens clean translations compile-translations

dev: setup
	$(BIN)/townhall dev

test: setup-test browser-deps media-deps proxy-deps lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The layers (docs/architecture.md): an import pointing up a layer fails the build.
lint-imports: setup-test
	$(BIN)/lint-imports --no-cache

setup: $(VENV)/.installed node_modules/.installed compile-translations

setup-test: $(VENV)/.installed-test node_modules/.installed compile-translations

# Welsh: compile the catalogue (the app also compiles a stale .mo when it starts, so a forgotten
# step cannot ship English). `make translations` also refreshes the template from the sources and
# merges new strings into the .po for translating.
compile-translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d services/translations

translations: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  -o services/translations/messages.pot .
	$(BIN)/pybabel -q update -w 100 -i services/translations/messages.pot -d services/translations
	$(BIN)/pybabel -q compile --statistics -d services/translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,helm,bench]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Chromium from Debian (never a browser download); needs root or sudo on a fresh machine.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# ffmpeg (audio from any upload; without it only WAV is accepted), espeak-ng + sox (spoken test clips).
media-deps:
	@command -v ffmpeg >/dev/null 2>&1 && command -v espeak-ng >/dev/null 2>&1 && command -v sox >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq ffmpeg espeak-ng sox >/dev/null; }

# nginx from Debian: the multi-process proof runs two live processes and web behind it.
proxy-deps:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nginx-light >/dev/null 2>&1 || \
	  $$SUDO apt-get install -y -qq nginx >/dev/null; }

bench: setup-test
	$(BIN)/python -m tests.perf.harness

# Screenshots of every page type at phone and desktop widths, for docs/screens/.
screens: setup-test browser-deps
	SCREENS_DIR=docs/screens $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser/test_screens.py

clean:
	rm -rf $(VENV) node_modules .townhall-data

# Two commands for a fresh machine (README):  make run   ·   make test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := python3-venv libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
	libglib2.0-0 libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-shape0 libxcb-xinerama0 \
	libxcb-randr0 libxcb-render-util0 libxcb-image0 fonts-noto-cjk xvfb

.PHONY: run test system-deps venv lint bench screenshots bundle clean

# Installs what is missing (system libraries and CJK fonts where apt can, the virtual
# environment, the project), then starts the console with an embedded server and the demo district.
run: venv
	$(BIN)/command-desk $(ARGS)

test: venv
	QT_QPA_PLATFORM=offscreen $(BIN)/ruff check app tests
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

# Debian/Ubuntu only, and only what is missing; elsewhere Qt's wheels bring what they need.
system-deps:
	@if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    echo "installing system packages: $$missing"; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	  fi; \
	fi

bench: venv
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.bench $(ARGS)

bundle: venv
	$(BIN)/python -m pip install -q -e ".[build]"
	$(BIN)/pyinstaller --noconfirm --distpath build/out --workpath build/work build/command-desk.spec

clean:
	rm -rf $(VENV) build/out build/work .pytest_cache

# The README's two commands: `make demo` and `make test`. Both set everything up on a fresh Debian
# machine: Debian packages (when run as root), a virtualenv in .venv, and this package in it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# mesa EGL for MuJoCo's offscreen rendering on CPU; libusb for librealsense; ffmpeg for videos
DEB_PACKAGES := python3-venv python3-dev gcc libegl1 libegl-mesa0 libgl1-mesa-dri libusb-1.0-0
# tests run against the real device libraries and ROS 2 wheels, so `make test` installs those extras
EXTRAS ?= dev,ros-wheels,realsense,uvc,franka,teleop,vlm
PYTEST_ARGS ?=

.PHONY: demo test lint deps venv clean

demo: $(STAMP)
	MUJOCO_GL=egl $(BIN)/robot-rl demo

# pytest exit code 5 means "no tests collected": treated as a failure with its own message,
# so a broken collection can never pass as green.
test: $(STAMP)
	@set -o pipefail; MUJOCO_GL=egl $(BIN)/python -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5) - failing"; exit 1; fi; \
	exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .

deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
		if [ -n "$$missing" ]; then echo "apt-get install $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi; \
	else echo "not root: skipping Debian packages ($(DEB_PACKAGES)); install them if something is missing"; fi

$(VENV)/bin/python: | deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch is pinned in setup.py to the CPU build (torch==2.13.0); reinstall when packaging changes
$(STAMP): $(VENV)/bin/python setup.py setup.cfg pyproject.toml
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

clean:
	rm -rf $(VENV) build install log *.egg-info

# The two commands of the README: `make run` and `make test`. Both set everything up first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test setup bench screenshot clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e ".[test]"
	touch $(STAMP)

run: setup
	scripts/run-demo.sh

test: setup
	scripts/install-system-deps.sh --with-postgres
	scripts/run-tests.sh

bench: setup
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m bench

screenshot: setup
	command -v xvfb-run >/dev/null || scripts/install-system-deps.sh --with-postgres  # Xvfb: the test packages
	mkdir -p out && rm -f out/screenshot.db
	# the dashboard as people see it: a real X window (Xvfb) of a 1920×1080 screen, not offscreen
	xvfb-run -a -s "-screen 0 1920x1080x24 -nolisten tcp" env QT_QPA_PLATFORM=xcb \
	  $(VENV)/bin/session-monitor --demo hypertensive-responder --demo-nurse --speed 120 \
	  --minutes 42 --db sqlite:///out/screenshot.db --screenshot docs/dashboard.png
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/session-monitor review --db sqlite:///out/screenshot.db --session latest \
	  --screenshot docs/review.png
	rm -f out/course.db
	for seed in 1 2 3; do QT_QPA_PLATFORM=offscreen $(VENV)/bin/session-monitor --demo hypertensive-responder --demo-nurse \
	  --speed 120 --minutes 45 --patient PT-DEMO --seed $$seed --db sqlite:///out/course.db || exit 1; done
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/session-monitor review --db sqlite:///out/course.db --course PT-DEMO \
	  --screenshot docs/course.png

clean:
	rm -rf $(VENV) out

# Two commands: `make lab` opens the course, `make test` runs every test. Both set up .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# JupyterLab refuses to start as root unless told; containers and Binder often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test bench protocol clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# jupyter-config/ (project-local, on JUPYTER_CONFIG_PATH: the learner's home is left alone) gives
# nbgrader its config (grader/nbgrader_config.py) and hides the instructor-only panels
# (Create Assignment, Formgrader, Courses); learners keep Validate and the assignment list.
lab: setup
	JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter-config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		$(VENV)/bin/jupyter lab $(ALLOW_ROOT) --notebook-dir=. $(LAB_ARGS) notebooks/day1_multi_agent_fundamentals.ipynb

# Tests run in TEST_WORKERS processes (pytest-xdist), a test file per process at a time (module
# fixtures such as a graded class are built once). Most of the time is spent in kernels and
# subprocesses waiting on each other, so one more worker than cores keeps both cores busy.
# TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 3
test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: setup
	$(PY) bench/run_all.py

# Refresh the lab Worker's copy of course/protocol (a test fails when they differ).
protocol: setup
	$(PY) -m course.lab.vendor

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

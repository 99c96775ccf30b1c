# Two commands:  make run   (default pipeline: every figure + HTML report)
#                make test  (the whole test suite)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
CONFIG ?= config/config.yaml

SWEEP ?= config/sweeps/roi_defocus_cs.yaml

.PHONY: run test report lint dag cost clean-results sweep

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "hrtem needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python envs/requirements.txt pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r envs/requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Outputs of a run go to results/<run>/ (config key `run`, default: the config file's name).
# The cost estimate is printed (and checked) first. After a killed run, a stale
# Snakemake lock (no live snakemake in this folder) is cleared and incomplete
# outputs are redone (--rerun-incomplete in the profile): just run it again.
# TARGETS (default: everything, then the report) limits the run to some files.
TARGETS ?=
run: $(VENV)/.installed
	$(BIN)/hrtem config --estimate $(CONFIG)
	$(BIN)/python -m hrtem.runlock --snakemake $(BIN)/snakemake -- --profile workflow/profiles/default --configfile $(CONFIG)
	$(BIN)/snakemake --profile workflow/profiles/default --configfile $(CONFIG) --cores $(CORES) $(TARGETS)
	@if [ -z "$(TARGETS)" ]; then \
	run=$$($(BIN)/hrtem config $(CONFIG) | sed -n 's/^run: //p'); \
	$(BIN)/snakemake --profile workflow/profiles/default --configfile $(CONFIG) --report results/$$run/report.html; \
	fi

test: $(VENV)/.installed
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint

dag: $(VENV)/.installed
	$(BIN)/snakemake -n --quiet rules

# A parameter sweep: every point is a run of its own in results/<sweep>/<point>/;
# then results/<sweep>/summary.csv and summary.png (see src/hrtem/sweep.py).
sweep: $(VENV)/.installed
	$(BIN)/hrtem sweep $(SWEEP) --config $(CONFIG) --cores $(CORES)

# SLURM jobs and requested core-hours of CONFIG (dry run with the slurm profile)
cost: $(VENV)/.installed
	$(BIN)/python workflow/scripts/core_hours.py $(CONFIG)

# Two entry points (see README): `make replicate` (main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: replicate test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Main job: the Min 2022 replication on the bundled synthetic cohort -> reports/min2022
replicate: $(STAMP)
	$(BIN)/aplcohort replicate min2022 --out reports/min2022

# Whole test suite; exit status 5 (no tests collected) counts as failure.
test: $(STAMP)
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected: failing"; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) build *.egg-info

# Two entry points (see README): `make replicate` (main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: replicate test test-pandas install clean

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

# Second CI stage (issue 13): pandas 2 and 3 are both supported. `make test` runs under the
# pandas pip picks for .venv; `make test-pandas PANDAS="pandas>=3"` (or "pandas>=2,<3") runs
# the statistics, batch, cohort loading (CSV/XLSX/encodings/dates), tables and plan-run tests
# again in a separate venv with that pandas (installs from pip's cache; about 5 minutes of CPU).
PANDAS   ?= pandas>=3
P_VENV   ?= .venv-pandas
P_TESTS  := $(sort $(wildcard tests/test_km.py tests/test_logrank.py tests/test_cox*.py \
	tests/test_competing*.py tests/test_finegray.py tests/test_firth.py tests/test_grouptests.py \
	tests/test_landmark.py tests/test_timedep.py tests/test_zph.py tests/test_surv_extras.py \
	tests/test_stats_shapes.py tests/test_multistate_*.py tests/test_batch_*.py \
	tests/test_cohort_*.py tests/test_io_*.py tests/test_mapping_derive.py \
	tests/test_sources_*.py tests/test_redcap.py tests/test_adjust_*.py tests/test_tables_*.py \
	tests/test_plan_run.py tests/test_plan_accounting.py tests/test_plan_spec.py \
	tests/test_plan_review7*.py tests/test_plan_zero_time.py tests/test_plan_tables_complete.py \
	tests/test_plan_propensity_review7b.py tests/test_growth_*.py tests/test_package.py \
	tests/test_interval_notes.py tests/test_plan_internal_errors.py tests/test_api_review8*.py \
	tests/test_review9*.py tests/test_review10*.py tests/test_review11*.py tests/test_review12*.py \
	tests/test_review13*.py tests/test_review14*.py tests/test_plan_td_notes.py \
	tests/test_table1_kinds.py tests/test_ranktests.py tests/test_null_reasons.py tests/test_review15*.py \
	tests/test_review16.py tests/test_journal_blanks.py tests/test_table1_flow_blanks.py tests/test_ord16.py \
	tests/test_absent_dictionary_levels.py))

test-pandas:
	$(PYTHON) -m venv $(P_VENV)
	$(P_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(P_VENV)/bin/python -m pip install --quiet -e ".[test]" "$(PANDAS)"
	$(P_VENV)/bin/python -c "import pandas; print('pandas', pandas.__version__)"
	$(P_VENV)/bin/python -m pytest -q $(P_TESTS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected: failing"; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) $(P_VENV) build *.egg-info

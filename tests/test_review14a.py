"""Audit 14, part A: the docs and notebooks say what is true.

* F1: the notebooks' default export folder is git-ignored in a checkout, wherever Jupyter
  starts, and notebook 01 no longer says its exports go under ``reports/``.
* F2: every repository path a notebook (or notebooks/README.md) names exists.
* F3: notebook 03 counts CR3 from the replica's ``cr3_date`` as the Min 2022 plan does, so its
  CLFS numbers are the report's.
* F4: docs/multistate.md's salvage numbers are those of the plan's ``clfs`` analysis.
* F5: docs/tables.md's OS-median table is the one the plan writes.
* F8: docs/results_json.md names every field a Min 2022 results.json has.
* F12: docs/figures.md's p-value examples are what ``format_p`` prints.
* F13: notebook code without ``.query`` (numexpr warnings), "do not hold" in the CLI summary,
  one spelling of Kruskal–Wallis in the Table 1 footnote.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

import aplcohort as apc
from aplcohort.plan import run_plan

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p.name for p in NB_DIR.glob("*.ipynb"))
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
PLAN = ROOT / "aplcohort" / "plan" / "plans" / "min2022.yaml"


def _cells(name, kind):
    nb = nbformat.read(NB_DIR / name, as_version=4)
    return [c for c in nb.cells if c.cell_type == kind]


# ---------------------------------------------------------------------------------- F1
def _default_out(name):
    code = "\n".join(c.source for c in _cells(name, "code"))
    m = re.search(r'os\.environ\.get\("APLCOHORT_NOTEBOOK_OUT",\s*"([^"]+)"\)', code)
    return m.group(1) if m else None


def test_every_notebook_that_writes_files_has_a_default_out_folder():
    for name in NOTEBOOKS:
        code = "\n".join(c.source for c in _cells(name, "code"))
        if "OUT" in code:
            assert _default_out(name), f"{name}: writes files without the documented OUT default"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_default_out_folder_is_git_ignored(name):
    if subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT,
                      capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    default = _default_out(name)
    if default is None:
        pytest.skip(f"{name} writes no files")
    stem = Path(name).stem
    # Jupyter started at the root of the checkout, or in notebooks/ (the working directory)
    for where in (Path(default), Path("notebooks") / default):
        for f in (where / stem / "results.json", where / stem / "tables" / "table1.csv"):
            r = subprocess.run(["git", "check-ignore", "-q", "--no-index", str(f)], cwd=ROOT)
            assert r.returncode == 0, f"{f} (the default output of {name}) is not git-ignored"


def test_notebook_01_says_where_its_exports_go():
    text = "\n".join(c.source for c in _cells("01_replicate_min2022.ipynb", "markdown"))
    assert "under `reports/`, which git" not in text
    assert "`aplcohort_outputs/01_replicate_min2022/`" in text
    readme = (NB_DIR / "README.md").read_text(encoding="utf-8")
    assert "git ignores every\n`aplcohort_outputs/` folder" in readme


# ---------------------------------------------------------------------------------- F2
_REPO_PATH = re.compile(r"`((?:notebooks|docs|aplcohort|tests|data/synthetic)/[^`\s*<>]+\.[a-z]+)`")


@pytest.mark.parametrize("name", NOTEBOOKS + ["README.md"])
def test_repository_paths_named_by_the_notebooks_exist(name):
    if name.endswith(".ipynb"):
        text = "\n".join(c.source for c in _cells(name, "markdown"))
    else:
        text = (NB_DIR / name).read_text(encoding="utf-8")
    named = set(_REPO_PATH.findall(text))
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"{name} names files that do not exist: {missing}"
    if name.startswith("02"):
        assert "apc.example_mapping()" in text
        assert "aplcohort/synthetic/example_mapping.yaml" in named


# ---------------------------------------------------------------------- F3 / F4 / F5 / F8
@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The Min 2022 plan cut to the analyses the docs quote (same settings, same data)."""
    plan = yaml.safe_load(PLAN.read_text(encoding="utf-8"))
    keep = {"os_by_consolidation", "nrm_by_consolidation", "mantel_byar_hsct", "disease_course",
            "clfs", "swimmer", "table1_consolidation"}
    plan["analyses"] = [a for a in plan["analyses"] if a["id"] in keep]
    assert {a["id"] for a in plan["analyses"]} == keep
    plan["output"]["tables"] = ["csv", "docx"]
    out = tmp_path_factory.mktemp("review14a") / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_plan(plan, data=DATA, out=out)
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return res, out, doc


def test_replica_has_cr3_dates_and_notebook_03_uses_them(small_run):
    assert pd.read_csv(DATA)["cr3_date"].notna().sum() > 0
    md = "\n".join(c.source for c in _cells("03_competing_risks_and_transplant_timing.ipynb",
                                            "markdown"))
    assert "has no CR3 dates" not in md
    code = [c.source for c in _cells("03_competing_risks_and_transplant_timing.ipynb", "code")
            if "relapsed_leukemia_model" in c.source]
    assert len(code) == 1 and 'cr3_entry="salvage_start"' not in code[0]
    # run the notebook's own cell on the replica; its table is the report's clfs_at
    shown = []
    ns = {"cohort": apc.example_cohort("min2022").with_derived(), "display": shown.append}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    try:
        exec(compile(code[0], "notebook 03", "exec"), ns)
    finally:
        plt.close("all")
    nb_at = shown[0].reset_index(drop=True)
    res, out, _ = small_run
    report = pd.read_csv(out / "tables" / "clfs__clfs_at.csv")
    key = ["group", "measure", "time"]
    merged = report.merge(nb_at.assign(group=nb_at["group"].astype(str)), on=key,
                          suffixes=("_report", "_nb"))
    assert len(merged) == len(report) == len(nb_at)
    for col in ("estimate", "lower", "upper"):
        np.testing.assert_allclose(merged[f"{col}_nb"], merged[f"{col}_report"], rtol=1e-12)


def test_multistate_doc_salvage_numbers_are_the_runs(small_run):
    _, out, _ = small_run
    text = " ".join((ROOT / "docs" / "multistate.md").read_text(encoding="utf-8").split())
    assert "generator 2.0" not in text
    outcomes = pd.read_csv(out / "tables" / "clfs__salvage_outcomes.csv").set_index("salvage_state")
    probs = pd.read_csv(out / "tables" / "clfs__salvage_probabilities.csv")
    p60 = probs[(probs["measure"] == "alive in remission") & (probs["time"] == 60)].set_index(
        "salvage_state")
    m = re.search(r"salvage allo-HSCT (\d+) patients, (\d+) alive in remission, P\(alive in "
                  r"remission at 60 months\) = ([\d.]+) \(95% CI ([\d.]+)–([\d.]+)\); other "
                  r"salvage (\d+) patients, (\d+) alive in remission, ([\d.]+) \(([\d.]+)–([\d.]+)\)",
                  text)
    assert m, "docs/multistate.md: the salvage sentence changed; update this test"
    for state, (n, alive, est, lo, hi) in (("salvage allo HSCT", m.groups()[:5]),
                                           ("salvage other", m.groups()[5:])):
        assert int(n) == outcomes.loc[state, "n"]
        assert int(alive) == outcomes.loc[state, "alive_in_remission"]
        for shown, value in ((est, "estimate"), (lo, "lower"), (hi, "upper")):
            digits = len(shown.split(".")[1])
            assert float(shown) == pytest.approx(round(p60.loc[state, value], digits), abs=1e-12), \
                (state, value)


def test_tables_doc_os_median_table_is_the_runs(small_run):
    import docx

    _, out, _ = small_run
    text = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    m = re.search(r"  Table \d+\. (Overall survival from CR2: median \(95% CI\), months)\n"
                  r"((?:  .*\n)+?)  NR, not reached\.", text)
    assert m, "docs/tables.md: the OS-median example changed; update this test"
    rows = [re.split(r"\s{2,}", r.strip()) for r in m.group(2).splitlines()]
    d = docx.Document(out / "tables" / "os_by_consolidation__medians.docx")
    assert d.paragraphs[0].text == m.group(1)
    written = [[c.text for c in r.cells] for r in d.tables[0].rows]
    assert rows == written


def _documented_words():
    text = (ROOT / "docs" / "results_json.md").read_text(encoding="utf-8")
    words = set()
    for span in re.findall(r"`([^`]+)`", text):
        words |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span))
    return text, words


def test_results_json_doc_names_every_field(small_run):
    _, _, doc = small_run
    text, words = _documented_words()
    assert "run time (UTC)" not in text
    assert set(doc) - {"published_vs_reproduced", "published_vs_reproduced_explanation"} <= words
    assert set(doc["provenance"]) <= words, set(doc["provenance"]) - words
    kinds_line = next(line for line in text.splitlines() if line.startswith("| `kind` |"))
    by_kind = text[text.index("## By kind"):]
    for aid, a in doc["analyses"].items():
        assert f"`{a['kind']}`" in kinds_line, a["kind"]
        assert f"`{a['kind']}`" in by_kind, f"no 'By kind' entry for {a['kind']}"
        undocumented = set(a) - words
        assert not undocumented, f"{aid} ({a['kind']}): {sorted(undocumented)}"
    for key in ("salvage", "salvage_probabilities", "definitions"):
        for row in doc["analyses"]["clfs"][key]:
            assert set(row) <= words, (key, set(row) - words)
    for key in ("transitions", "problems", "at", "rmean"):
        for row in doc["analyses"]["disease_course"][key]:
            assert set(row) <= words, (key, set(row) - words)
    # td_finegray is a plan kind: it is in the list too
    from aplcohort.plan.registry import KINDS
    for kind in KINDS:
        assert f"`{kind}`" in kinds_line, kind


@pytest.fixture(scope="module")
def admiral_run(tmp_path_factory):
    """``aplcohort replicate admiral`` through the CLI (a few seconds): stdout and results.json."""
    from aplcohort.cli import main

    out = tmp_path_factory.mktemp("review14a_admiral") / "adm"
    buf = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
        warnings.simplefilter("ignore")
        code = main(["replicate", "admiral", "--out", str(out)])
    assert code in (0, None)
    return buf.getvalue(), json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_results_json_doc_published_vs_reproduced_rows(admiral_run):
    """Every column of the published-vs-reproduced rows, and the explanation key."""
    _, doc = admiral_run
    text, words = _documented_words()
    assert "`published_vs_reproduced_explanation`" in text
    assert set(doc) <= words, set(doc) - words
    row_line = next(line for line in text.splitlines()
                    if line.startswith("| `published_vs_reproduced` |"))
    for row in doc["published_vs_reproduced"]:
        for key in row:
            assert f"`{key}`" in row_line or f"{key}," in row_line or f"{key}}}" in row_line, key
    # the doc says holds is true only for facts that agree and are not decided by construction
    for row in doc["published_vs_reproduced"]:
        if row["holds"]:
            assert row["matches"] and row["kind"] != "by construction"
        if row["verdict"] == "equal by construction":
            assert row["matches"] and not row["holds"]


# ---------------------------------------------------------------------------------- F12
def test_figures_doc_p_value_examples_are_format_p():
    from aplcohort.tables import format_p

    text = " ".join((ROOT / "docs" / "figures.md").read_text(encoding="utf-8").split())
    assert "three decimals /" not in text and "`>0.999`" not in text
    m = re.search(r"p-values print, in the default style, [^:]*: ((?:`[^`]+`,? ?)+)", text)
    assert m
    examples = re.findall(r"`([^`]+)`", m.group(1))
    grid = np.concatenate([np.linspace(0.00001, 0.999999, 200001), [0.0032, 0.064, 0.12]])
    printed = {format_p(float(p)) for p in grid}
    assert examples and set(examples) <= printed, set(examples) - printed


# ---------------------------------------------------------------------------------- F13
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_do_not_use_dataframe_query(name):
    code = "\n".join(c.source for c in _cells(name, "code"))
    assert ".query(" not in code, f"{name}: .query() warns about numexpr on extension dtypes"


def test_cli_summary_counts_are_grammatical(admiral_run):
    stdout, _ = admiral_run
    line = next(x for x in stdout.splitlines() if x.startswith("published vs reproduced:"))
    counts = dict((v, int(n)) for n, v in re.findall(r"(\d+) (does not hold|do not hold)", line))
    assert counts, line
    for verb, n in counts.items():
        assert (verb == "does not hold") == (n == 1), line
    from aplcohort.plan.cli import _count_phrase

    assert _count_phrase(1, "does not hold") == "1 does not hold"
    assert _count_phrase(2, "does not agree (by-construction row)") == \
        "2 do not agree (by-construction row)"
    assert _count_phrase(2, "not estimable") == "2 not estimable"


def test_table1_footnote_spells_kruskal_wallis_once(small_run):
    from aplcohort.tables.table1 import table1

    d = apc.example_cohort("min2022").with_derived().data
    d = d[d["postremission_modality"].isin(["ATO-based", "auto HSCT", "allo HSCT"])]
    t = table1(d, "postremission_modality", ["age_at_relapse", "sex"],
               order=["ATO-based", "auto HSCT", "allo HSCT"])
    notes = " ".join(t.footnotes)
    assert "Kruskal\u2013Wallis" in notes and "Kruskal-Wallis" not in notes
    _, out, _ = small_run
    written = (out / "tables" / "table1_consolidation.csv").read_text(encoding="utf-8")
    assert "Kruskal-Wallis" not in written and "Kruskal\u2013Wallis" in written

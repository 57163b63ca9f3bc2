"""Journal conventions: one p formatter and its styles, labels, NR/NE, zero-cell odds ratios,
reference rows, ASCII LaTeX, plan-level presentation keys."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aplcohort.errors import InputError, PlanError
from aplcohort.tables.export import JournalTable, latex_escape
from aplcohort.tables.format import format_p
from aplcohort.tables.frame import format_frame, is_p_column
from aplcohort.tables.labels import check_overrides, resolve_labels
from aplcohort.tables.regression import regression_table
from aplcohort.tables.response import response_table
from aplcohort.tables.style import get_style, plan_presentation

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests" / "reference" / "tables15_fisher_zero_cells.json").read_text())
PS = (0.00004, 0.0004, 0.0032, 0.0499, 0.3217, 0.878, 0.9996)


@pytest.mark.parametrize("style, expected", [
    (None, ["< 0.001", "< 0.001", "0.0032", "0.050", "0.32", "0.88", "> 0.99"]),
    ("ama", ["<.001", "<.001", ".003", ".05", ".32", ".88", ">.99"]),
    ("blood", ["<.001", "<.001", ".003", ".05", ".32", ".88", ">.99"]),
    ("lancet", ["<0\u00b70001", "0\u00b700040", "0\u00b70032", "0\u00b7050", "0\u00b732",
                "0\u00b788", ">0\u00b799"]),
    ({"journal": "aplcohort", "p_digits": 3}, ["< 0.001", "< 0.001", "0.00320", "0.0499",
                                              "0.322", "0.878", "> 0.999"]),
])
def test_one_p_formatter_per_style(style, expected):
    assert [format_p(p, style=style) for p in PS] == expected
    assert [get_style(style).p(p) for p in PS] == expected


def test_style_errors_say_what_to_do():
    with pytest.raises(InputError, match="did you mean 'lancet'"):
        get_style("lancett")
    with pytest.raises(InputError, match="did you mean 'p_digits'"):
        get_style({"journal": "ama", "p_digit": 3})
    with pytest.raises(InputError, match="reference_rows must be one of"):
        get_style(None, reference="ref")
    with pytest.raises(ValueError, match="p-value must be in"):
        format_p(1.2)


def test_every_p_column_name_is_found():
    names = ["p", "p_adj", "p_value", "pvalue", "Pr(>|z|)", "p (Gray)", "logrank_p", "p_cox",
             "p_uni", "p_multi", "p.value"]
    assert all(is_p_column(n) for n in names)
    assert not any(is_p_column(n) for n in ["group", "n_risk", "tau", "time", "estimate",
                                            "upper", "events", "pct"])
    df = pd.DataFrame({n: [0.0004, 0.5123] for n in names})
    t = format_frame(df, "all p columns", style="ama")
    assert (t.data.to_numpy() == np.array([["<.001"] * len(names), [".51"] * len(names)])).all()


def test_frame_hides_internal_columns_and_explains_ne_and_nr():
    df = pd.DataFrame({
        "group": ["ATO-based", "auto HSCT", "allo HSCT"], "cause": [1, 1, 1],
        "n": [19.0, 12.0, 6.0], "events": [5.0, 2.0, 0.0],
        "median": [21.65, np.nan, np.nan], "lower": [8.67, 9.86, np.nan],
        "upper": [np.nan, np.nan, np.nan], "std_err": [0.1, 0.2, np.nan],
        "note": ["", "not reached", "no events in the group"]})
    t = format_frame(df, "Medians", group_column="postremission_modality")
    assert t.data.columns.tolist() == ["Group", "n", "Events", "Median (95% CI)"]
    assert t.data["Median (95% CI)"].tolist() == ["21.6 (8.7\u2013NR)", "NR (9.9\u2013NR)", "NE"]
    assert t.footnotes == ("NR, not reached.", "NE, not estimable: allo HSCT: no events in the "
                           "group.")
    curves = pd.DataFrame({"group": ["A", "A"], "time": [12.0, 60.0],
                           "estimate": [0.8421052631578947, np.nan],
                           "std_err": [0.08, np.nan], "lower": [0.6931194447885755, np.nan],
                           "upper": [1.0, np.nan], "n_risk": [16.0, 0.0],
                           "note": ["", "after the last follow-up time of the group"]})
    c = format_frame(curves, "OS at times", style="lancet")
    assert c.data.columns.tolist() == ["Group", "Time", "Estimate, % (95% CI)", "At risk"]
    assert c.data.iloc[:, 2].tolist() == ["84\u00b72 (69\u00b73\u2013100\u00b70)", "NE"]
    assert "A, 60: after the last follow-up time of the group" in c.footnotes[-1]


def test_zero_cell_odds_ratios_as_r_fisher_test():
    for case, (x1, n1, x2, n2) in (("infinite", (30, 30, 3, 11)), ("zero", (0, 30, 1, 11))):
        ref = REF[case]
        df = pd.DataFrame({"arm": ["ATO"] * n1 + ["IC"] * n2,
                           "y": [True] * x1 + [False] * (n1 - x1) + [True] * x2
                           + [False] * (n2 - x2)})
        t = response_table(df, "arm", {"outcome": "y"}, order=["ATO", "IC"])
        raw = t.raw.iloc[0]
        for key, col in (("estimate", "odds_ratio"), ("lower", "or_lower"),
                         ("upper", "or_upper"), ("p", "p")):
            want = math.inf if ref[key] == "Inf" else float(ref[key])
            if math.isinf(want) or want == 0:
                assert raw[col] == want
            else:
                assert raw[col] == pytest.approx(want, rel=1e-6)
        assert t.data.iloc[0, 3] == "NE"
        assert "inf" not in " ".join(t.data.iloc[0].tolist()).lower()
        note = t.footnotes[-1]
        if case == "infinite":
            assert "conditional MLE infinite, exact 95% CI 9.77 to infinity" in note
        else:
            assert "conditional MLE 0, exact 95% CI 0 to 14.30" in note


def _cox():
    from aplcohort.stats.cox import coxph
    rng = np.random.default_rng(3)
    n = 80
    df = pd.DataFrame({"age_at_relapse": rng.normal(50, 10, n).round(),
                       "postremission_modality": rng.choice(["ATO-based", "auto HSCT",
                                                             "allo HSCT"], n),
                       "t": rng.exponential(30, n).round(1), "e": rng.integers(0, 2, n)})
    return coxph(df, time="t", event="e", covariates=["age_at_relapse", "postremission_modality"],
                 categorical={"postremission_modality": "ATO-based"})


@pytest.mark.parametrize("choice, cell", [("1 (reference)", "1 (reference)"),
                                          ("\u2014", "\u2014"), ("none", None)])
def test_reference_rows_as_the_user_chooses(choice, cell):
    r = _cox()
    t = regression_table(r, reference_rows=choice)
    first = t.data["Variable"].tolist()
    assert first[0] == "Age at first relapse, years"          # dictionary label + unit
    assert "Post-remission treatment" in first                 # dictionary label
    if cell is None:
        assert "ATO-based" not in first
        assert any(f.startswith("Reference levels: Post-remission treatment, ATO-based")
                   for f in t.footnotes)
    else:
        i = first.index("ATO-based")
        assert t.data.iloc[i, 1] == cell and t.indent[i] == 1


def test_lancet_style_in_regression_and_labels_from_plan():
    r = _cox()
    lab, sty = plan_presentation({"style": "lancet",
                                  "labels": {"postremission_modality": "Consolidation"}})
    t = regression_table(r, labels=lab, style=sty)
    cells = " ".join(t.data.iloc[:, 1].tolist() + t.data.iloc[:, 2].tolist())
    assert "\u00b7" in cells and not any(ch.isdigit() and nxt == "." for ch, nxt in
                                         zip(cells, cells[1:]))
    assert "Consolidation" in t.data["Variable"].tolist()


def test_labels_units_order_and_terms():
    lab = resolve_labels()
    assert lab.column("plt_relapse") == "Platelets at relapse, \u00d710\u2079/L"
    assert lab.column("plt_relapse", unit=False) == "Platelets at relapse"
    assert lab.order("postremission_modality", ["allo HSCT", "ATO-based", "zz", "auto HSCT"]) \
        == ["ATO-based", "auto HSCT", "allo HSCT", "zz"]
    assert lab.term("stateallo HSCT") == "State: allo HSCT"
    assert lab.term("sanz_riskhigh") == "Sanz risk: high"
    over = resolve_labels({"labels": {"wbc_relapse": {"label": "WBC", "unit": None}},
                           "levels": {"sex": ["F", "M"]}})
    assert over.column("wbc_relapse") == "WBC" and over.order("sex", ["M", "F"]) == ["F", "M"]


def test_plan_labels_and_levels_are_checked_against_the_data():
    probs = check_overrides({"wbc_relaps": "WBC"}, {"sanz_risk": ["low", "hgh"]},
                            ["wbc_relapse", "sanz_risk"])
    assert probs[0] == "labels: column 'wbc_relaps' is not in the data; did you mean 'wbc_relapse'?"
    assert "did you mean 'high'?" in probs[1]
    import yaml

    from aplcohort.plan.spec import validate_plan
    plan = yaml.safe_load((ROOT / "aplcohort" / "plan" / "plans" / "min2022.yaml").read_text())
    with pytest.raises(PlanError, match="did you mean 'lancet'"):
        validate_plan({**plan, "style": "lancett"}, None)
    with pytest.raises(PlanError, match="reference_rows"):
        validate_plan({**plan, "reference_rows": "ref"}, None)
    with pytest.raises(PlanError, match="did you mean 'wbc_relapse'"):
        validate_plan({**plan, "labels": {"wbc_relaps": "WBC"}},
                      {"wbc_relapse", "reinduction_regimen", "postremission_modality"})


@given(st.text(max_size=40))
def test_latex_escape_is_always_ascii(text):
    out = latex_escape(text)
    out.encode("ascii")
    assert not re.search(r"(?<!\\)\$\$", out)  # math runs are merged, never adjacent


def test_wide_tables_go_landscape_and_fit():
    narrow = JournalTable("n", pd.DataFrame({"a": ["x" * 10], "b": ["1"]}), pd.DataFrame())
    wide = JournalTable("w", pd.DataFrame({f"c{i}": ["12.3 (10.1\u201315.2)"] for i in range(8)}),
                        pd.DataFrame())
    assert not narrow.is_wide() and wide.is_wide()
    tex = wide.to_latex()
    assert "\\begin{landscape}" in tex and "\\end{landscape}" in tex
    assert "\\begin{landscape}" not in narrow.to_latex()


def test_a_pair_that_is_not_estimable_is_named_as_a_pair_in_its_footnote():
    import warnings

    from aplcohort.stats.logrank import pairwise_logrank
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pairwise_logrank([1, 2, 3, 4, 1.5, 2.5, 3.5, 5, 1, 2, 3, 4],
                             [1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0], list("aaaabbbbccdd"))
    t = format_frame(r.table, "Pairwise")
    assert t.data.iloc[5].tolist()[-2:] == ["NE", "NE"]
    assert len(t.footnotes) == 1      # p and adjusted p: one footnote
    assert t.footnotes[0].startswith("NE, not estimable: c vs d, p: fewer than two groups")

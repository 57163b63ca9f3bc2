"""Regression table: cells are the Cox terms, formatted; layout of categorical variables."""

import numpy as np
import pandas as pd

from aplcohort.tables.format import format_ci, format_p
from aplcohort.tables.regression import regression_table


def data():
    rng = np.random.default_rng(11)
    n = 90
    df = pd.DataFrame({"age": rng.normal(50, 10, n).round(),
                       "risk": rng.choice(["low", "intermediate", "high"], n)})
    df["time"] = rng.exponential(30, n).round(1)
    df["event"] = rng.integers(0, 2, n)
    return df


def test_single_model_layout():
    from aplcohort.stats.cox import coxph
    r = coxph(data(), time="time", event="event", covariates=["age", "risk"],
              categorical={"risk": "low"})
    t = regression_table(r, labels={"age": "Age, per year", "risk": "Sanz risk"})
    d = t.data
    assert d.columns.tolist() == ["Variable", "HR (95% CI)", "p"]
    assert d["Variable"].tolist() == ["Age, per year", "Sanz risk", "low", "high", "intermediate"]
    assert t.indent == (0, 0, 1, 1, 1)
    assert d.iloc[2, 1] == "1 (reference)"
    terms = r.terms.set_index("term")
    for i, term in ((0, "age"), (3, "riskhigh"), (4, "riskintermediate")):
        row = terms.loc[term]
        assert d.iloc[i, 1] == format_ci(row.estimate, row.lower, row.upper, 2)
        assert d.iloc[i, 2] == format_p(row.p)
    assert t.footnotes[0] == f"n = {r.n}, events = {r.events}."


def test_uni_multi_side_by_side(tmp_path):
    from aplcohort.stats.cox import univariable_multivariable
    um = univariable_multivariable(data(), time="time", event="event", covariates=["age", "risk"],
                                   categorical={"risk": "low"})
    t = regression_table(um)
    assert t.spans == (("Univariable", 1, 2), ("Multivariable", 3, 4))
    tab = um.table.set_index("term")
    row = t.data[t.data["Variable"] == "high"].iloc[0].tolist()
    r = tab.loc["riskhigh"]
    assert row == ["high", format_ci(r.hr_uni, r.lower_uni, r.upper_uni, 2), format_p(r.p_uni),
                   format_ci(r.hr_multi, r.lower_multi, r.upper_multi, 2), format_p(r.p_multi)]
    tex = t.to_latex()
    assert "\\multicolumn{2}{c}{Univariable}" in tex and "\\cmidrule(lr){2-3}" in tex
    t.to_docx(tmp_path / "reg.docx")
    import docx
    cells = [c.text for c in docx.Document(str(tmp_path / "reg.docx")).tables[0].rows[0].cells]
    assert cells[1] == "Univariable" and cells[3] == "Multivariable"


def test_not_estimable_terms_are_ne_with_the_reason():
    import warnings

    from aplcohort.stats.cox import coxph
    d = data()
    d["age2"] = 2 * d["age"]
    d.loc[d["risk"] == "high", "event"] = 0          # no events: monotone likelihood
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = coxph(d, time="time", event="event", covariates=["age", "age2", "risk"],
                  categorical={"risk": "low"})
    t = regression_table(r)
    cells = dict(zip(t.data["Variable"], t.data["HR (95% CI)"]))
    assert cells["age2"] == "NE" and cells["high"] == "NE"
    assert cells["age"] != "NE" and cells["intermediate"] != "NE"
    note = t.footnotes[-1]
    assert note.startswith("NE, not estimable") and "aliased with 'age'" in note
    assert "may be infinite" in note
    assert not (t.raw["estimate"] == 1).any()

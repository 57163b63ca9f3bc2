"""Response table cells against R binom.test / fisher.test (calls in comments)."""

import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.tables.response import response_table


def data():
    return pd.DataFrame({"arm": ["ATO"] * 5 + ["IC"] * 4,
                         "resp": ["mCR2"] * 4 + ["none"] + ["mCR2"] + ["none"] * 2 + [None],
                         "inf": ["no"] * 4 + ["yes"] + ["yes"] * 3 + ["no"]})


def test_cells_against_r():
    t = response_table(data(), "arm", {"mCR2": ("resp", ["mCR2"]), "Infection": "inf"})
    d = t.data
    assert d.columns.tolist() == ["Outcome", "ATO (n = 5)", "IC (n = 4)", "OR (95% CI)", "p"]
    # R: binom.test(4, 5)$conf.int = 0.2835821 0.9949492
    assert d.iloc[0, 1] == "4/5, 80.0 (28.4\u201399.5)"
    # R: binom.test(1, 3)$conf.int = 0.008403759 0.905700676  (1 IC response missing)
    assert d.iloc[0, 2] == "1/3, 33.3 (0.8\u201390.6)"
    # R: fisher.test(matrix(c(4,1,1,2),2,byrow=TRUE)): OR 5.1891..; p = 0.4642857
    ft = t.raw.iloc[0]
    assert d.iloc[0, 4] == "0.46"  # 2 significant digits
    assert d.iloc[0, 3].startswith(f"{ft.odds_ratio:.2f} (")
    assert any("IC 1 patient(s)" in f for f in t.footnotes)
    # infection: ATO 1/5, IC 3/4 ; R fisher.test(matrix(c(1,4,3,1),2,byrow=TRUE))$p.value = 0.2063492
    assert d.iloc[1, 4] == "0.21"
    assert d.iloc[1, 1] == "1/5, 20.0 (0.5\u201371.6)"


def test_three_groups_and_errors():
    df = data()
    df.loc[0:1, "arm"] = "other"
    t = response_table(df, "arm", {"mCR2": ("resp", ["mCR2"])})
    assert "OR (95% CI)" not in t.data.columns
    with pytest.raises(InputError, match="not yes/no"):
        response_table(data(), "arm", {"x": "resp"})
    with pytest.raises(InputError, match="not in order"):
        response_table(data(), "arm", {"x": "inf"}, order=["ATO"])


def test_small_odds_ratio_keeps_significant_digits():
    df = pd.DataFrame({"arm": ["ATO"] * 10 + ["IC"] * 10,
                       "inf": ["yes"] + ["no"] * 9 + ["yes"] * 9 + ["no"]})
    t = response_table(df, "arm", {"Infection": "inf"})
    # R: fisher.test(matrix(c(1,9,9,1),2,byrow=TRUE)): OR 0.01948353197,
    #    CI 0.0002656098593-0.3092534058, p 0.001093333911
    assert t.data.iloc[0, 3] == "0.019 (<0.001\u20130.309)"
    assert t.data.iloc[0, 4] == "0.0011"  # 2 significant digits
    r = t.raw.iloc[0]
    assert r.odds_ratio == pytest.approx(0.01948353197, rel=1e-6)
    assert r.or_lower == pytest.approx(0.0002656098593, rel=1e-6)
    assert r.or_upper == pytest.approx(0.3092534058, rel=1e-6)

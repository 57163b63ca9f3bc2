"""cox_zph against R survival 3.5-3 cox.zph (score test; tests/reference/cox.R)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.stats.cox import coxph
from aplcohort.stats.zph import cox_zph

from test_cox import CASES, R, _separated_data  # noqa: E402  (shared reference cases)

# every case of cox.R with a `$zph <- zphinfo(f)` line: cox.zph(f, transform = tr)
ZPH_CASES = sorted(k for k in CASES if "zph" in R[k])


@pytest.mark.parametrize("transform", ["km", "rank", "identity"])
@pytest.mark.parametrize("key", ZPH_CASES)
def test_cox_zph_against_r(key, transform):
    data, kw = CASES[key]
    ref = R[key]["zph"][transform]
    z = cox_zph(coxph(data, **kw), transform=transform)
    assert list(z.table.columns) == ["term", "chisq", "df", "p"]
    assert list(z.table["term"]) == list(np.atleast_1d(ref["term"]))
    np.testing.assert_allclose(z.table["chisq"], ref["chisq"], rtol=1e-9)
    np.testing.assert_array_equal(z.table["df"], ref["df"])
    np.testing.assert_allclose(z.table["p"], ref["p"], rtol=1e-8)


def test_zph_cases_cover_counting_strata_weights():
    assert {"heart", "lung_strata", "lung_weights_naive", "lung_breslow", "veteran"} <= set(ZPH_CASES)


def test_zph_result_object():
    data, kw = CASES["veteran"]
    z = cox_zph(coxph(data, **kw))
    assert z.kind == "cox_zph" and z.transform == "km"
    assert z.choices["transform"] == "km"
    # celltype is one term with 3 df; GLOBAL has df = number of coefficients
    t = z.table.set_index("term")
    assert t.loc["celltype", "df"] == 3 and t.loc["GLOBAL", "df"] == 6
    json.dumps(z.to_dict())
    assert "GLOBAL" in z._repr_html_()


def test_zph_errors():
    data, kw = CASES["ovarian"]
    res = coxph(data, **kw)
    with pytest.raises(InputError, match="transform must be"):
        cox_zph(res, transform="log2")
    with pytest.raises(InputError, match="CoxResult"):
        cox_zph(pd.DataFrame())
    with pytest.warns(Warning):
        sep = coxph(_separated_data(), time="t", event="e", covariates=["g", "x"])
    with pytest.raises(InputError, match="infinite"):
        cox_zph(sep)

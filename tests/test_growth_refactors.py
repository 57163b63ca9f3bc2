"""The O(n log n) rewrites of issue 13 (growth exponents) change no number.

Each test keeps the former implementation (quadratic in time or memory) as a local
reference, written out here, and compares the public function to it bit for bit (or at
1e-10 where the summation order changed) on several simulated cohorts: tied times,
tied markers / covariates, strata and weights where the function takes them.
"""

import numpy as np
import pandas as pd
import pytest

from aplcohort.stats import coxph, td_auc


def cohort(n, seed, *, tie_x=False):
    """Whole-day times (ties), 3 covariates (one integer when ``tie_x``: tied markers)."""
    rng = np.random.default_rng(seed)
    x1 = rng.integers(0, 3, n).astype(float) if tie_x else rng.normal(size=n)
    x2 = rng.integers(0, 2, n).astype(float)
    x3 = rng.normal(size=n)
    lp = 0.4 * x1 - 0.3 * x2 + 0.2 * x3
    t = np.ceil(rng.exponential(100 * np.exp(-lp)))
    c = np.ceil(rng.uniform(10, 300, n))
    return pd.DataFrame({"t": np.minimum(t, c), "e": (t <= c).astype(int), "x1": x1,
                         "x2": x2, "x3": x3, "g": rng.integers(0, 2, n),
                         "w": rng.uniform(0.5, 2.0, n)})


# ------------------------------------------------------------------------ td_auc
def td_auc_matrix(res, times):
    """The former td_auc: a cases x controls comparison matrix per time."""
    from aplcohort.stats.coxpredict import _model, predict_lp
    m = _model(res)
    time, ev = m.time, np.asarray(m.event, float)
    lp = predict_lp(res, reference="sample").to_numpy()
    ut = np.unique(time)
    st = np.sort(time)
    n_risk = time.size - np.searchsorted(st, ut, side="left")
    nc = np.bincount(np.searchsorted(ut, time[ev == 0]), minlength=ut.size)
    Gs = np.concatenate([[1.0], np.cumprod(1.0 - nc / n_risk)])
    out = []
    for t in times:
        case = np.flatnonzero((time <= t) & (ev == 1))
        ctrl = np.flatnonzero(time > t)
        wi = 1.0 / Gs[np.searchsorted(ut, time[case], side="left")]
        wj = 1.0 / Gs[np.searchsorted(ut, t, side="right")]
        d = lp[case][:, None] - lp[ctrl][None, :]
        cmp = (d > 0) + 0.5 * (d == 0)
        out.append(float(wi @ cmp.sum(axis=1) * wj / (wi.sum() * wj * ctrl.size)))
    return np.array(out)


@pytest.mark.parametrize("seed,tie_x,covs", [(1, False, ["x1", "x2", "x3"]),
                                             (2, True, ["x1", "x2"]),
                                             (3, True, ["x1"]),
                                             (4, False, ["x3"])])
def test_td_auc_equals_the_matrix_form_bitwise(seed, tie_x, covs):
    d = cohort(700, seed, tie_x=tie_x)
    res = coxph(d, time="t", event="e", covariates=covs)
    times = [10.0, 30.0, 60.0, 100.0, float(np.median(d["t"]))]
    got = td_auc(res, times)["auc"].to_numpy()
    np.testing.assert_array_equal(got, td_auc_matrix(res, times))

"""coxph on a cohort past the cache-block size with few covariates (the small-cohort sums):
it raised AttributeError ('_DeathFirstBlocks' has no 'nseg') before the fix."""
import numpy as np
import pandas as pd

from aplcohort.stats.cox import coxph


def test_one_covariate_past_the_block_size_agrees_with_statsmodels():
    from statsmodels.duration.hazard_regression import PHReg
    rng = np.random.default_rng(5)
    n = 80_000                                   # > 4 * 16384 rows, (p + 1) n <= 2**18
    x = rng.normal(size=n)
    t = np.round(rng.exponential(np.exp(-0.4 * x)) * 50) + 1   # many ties
    d = (rng.random(n) < 0.7).astype(int)
    res = coxph(pd.DataFrame({"t": t, "d": d, "x": x}), time="t", event="d", covariates=["x"])
    ref = PHReg(t, x[:, None], status=d, ties="efron").fit()
    assert np.isclose(res.terms["coef"].iloc[0], ref.params[0], rtol=1e-5, atol=0)
    assert np.isclose(res.terms["se"].iloc[0], ref.bse[0], rtol=1e-5, atol=0)

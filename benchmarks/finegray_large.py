"""Time a Fine-Gray fit on a simulated 100,000-row cohort (not a test).

Run:  .venv/bin/python benchmarks/finegray_large.py [n]

The risk-set sums of :func:`aplcohort.stats.finegray.crr_fit` are forward and
backward cumulative sums over the time-sorted data, so the cost grows linearly
with n after the sort (cmprsk::crr's Fortran is O(n^2) per iteration).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from aplcohort.stats.finegray import crr_fit


def simulate(n: int, seed: int = 20261121):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.binomial(1, 0.4, n), rng.binomial(1, 0.3, n)])
    lp = X @ np.array([0.4, 0.6, -0.3])
    t1 = rng.exponential(1 / (0.08 * np.exp(lp)))
    t2 = rng.exponential(1 / 0.06, n)
    cz = rng.uniform(2, 40, n)
    tt = np.minimum(np.minimum(t1, t2), cz)
    code = np.where(tt == t1, 1, np.where(tt == t2, 2, 0))
    return np.ceil(tt * 10) / 10, code, X  # times rounded: many ties


def main(n: int = 100_000) -> None:
    t, code, X = simulate(n)
    t0 = time.perf_counter()
    fit = crr_fit(t, code, X, cause=1)
    dt = time.perf_counter() - t0
    print(f"n = {n}: Fine-Gray fit (coef, sandwich variance, baseline) in {dt:.2f} s; "
          f"converged = {fit.converged} after {fit.iterations} iterations")
    print("coef:", np.round(fit.coef, 4), "se:", np.round(np.sqrt(np.diag(fit.var)), 4))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)

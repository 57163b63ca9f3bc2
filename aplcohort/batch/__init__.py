"""aplcohort.batch: survival statistics for many replicate cohorts at once.

Arrays of shape ``(reps, n)`` (one row per replicate cohort) go in; one result
per replicate comes out, computed with array operations over the whole batch
(no Python loop per replicate) and equal (rtol 1e-10) to the single-cohort
functions of :mod:`aplcohort.stats` on every replicate.

* :func:`batch_logrank` -- k-group log-rank (R ``survdiff``);
* :func:`batch_km` -- Kaplan–Meier median, survival at t, RMST;
* :func:`batch_cif` -- cumulative incidence of a cause with Gray's variance (the
  kernel of ``cumulative_incidence`` over a replicate axis);
* :func:`batch_cox` -- Cox regression (Efron / Breslow), R ``coxph`` iteration
  (also the fast path for one large cohort);
* :func:`cohort_km_logrank` -- KM summaries + log-rank of one large cohort;
* :mod:`aplcohort.batch.resample` -- permutation log-rank, bootstrap CIs;
* :mod:`aplcohort.batch.power` -- power and sample size from a scenario file;
* :mod:`aplcohort.batch.sweep` -- scenario x n x replicate sweeps (Dask optional).

Randomness: every replicate ``r`` draws from its own stream,
``numpy.random.SeedSequence(seed, spawn_key=(r,))`` -- the ``r``-th child of
``SeedSequence(seed).spawn`` -- so results never depend on chunk sizes or on
how many workers ran them.
"""

from .cif import BatchCIF, BatchGray, batch_cif, batch_gray
from .cox import BatchCox, batch_cox
from .km import BatchKM, batch_km
from .large import cohort_km_logrank
from .logrank import BatchLogRank, batch_logrank

__all__ = ["batch_logrank", "BatchLogRank", "batch_km", "BatchKM", "batch_cox", "BatchCox",
           "cohort_km_logrank", "batch_cif", "BatchCIF", "batch_gray", "BatchGray"]

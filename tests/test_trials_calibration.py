"""The synthetic ADMIRAL and TOWER cohorts reproduce the published numbers they were given.

Over seeds 1-40 of :func:`aplcohort.synthetic.rr_trials.generate`, with the report's own
definitions (:func:`aplcohort.synthetic.trial_facts.seed_shares` -> ``evaluate_facts``:
Kaplan-Meier medians, Cox HR, shares of the randomised arm):

* every model-driven share (response categories, allogeneic HSCT) pooled over seeds lies
  within 3 binomial standard errors of the published value (arm sizes are exact, so the
  mean of the per-seed shares is the pooled share);
* the OS medians and the hazard ratio averaged over seeds lie within 3 standard errors
  (SD over seeds / sqrt(seeds)) of the published values;
* by-construction counts hold in every seed.

The 200-seed shares shown in the report (``trial_seed_shares.json``) are recomputed by
``python -m aplcohort.synthetic.trial_facts``; docs/synthetic.md quotes them.
"""

import math

import pytest

from aplcohort.synthetic import rr_trials, trial_facts

SEEDS = range(1, 41)


@pytest.fixture(scope="module", params=["admiral", "tower"])
def shares(request):
    return request.param, trial_facts.seed_shares(request.param, seeds=SEEDS)


def _facts(trial, op):
    return [f for f in trial_facts.FACTS[trial] if f[4][0] == op]


def test_published_shares_are_reproduced_over_seeds(shares):
    trial, s = shares
    sizes = rr_trials.TRIALS[trial]["arm_sizes"]
    rows = _facts(trial, "rate")
    assert rows
    for fid, _, _, p, how in rows:
        n = sizes[how[1]] * len(SEEDS)
        se = math.sqrt(p * (1 - p) / n)
        got = s[fid]["mean_estimate"]
        assert abs(got - p) < 3 * se, (trial, fid, got, p, se)


def test_os_medians_and_hazard_ratio_are_reproduced_over_seeds(shares):
    trial, s = shares
    rows = [f for f in trial_facts.FACTS[trial] if f[4][0] == "hr"
            or (f[4][0] == "median" and f[4][1] == "OS")]
    assert len(rows) == 3
    for fid, _, _, value, _ in rows:
        r = s[fid]
        assert r["n_estimable"] == len(SEEDS)
        se = r["sd_estimate"] / math.sqrt(r["n_estimable"])
        assert abs(r["mean_estimate"] - value) < 3 * se, (trial, fid, r, value)


def test_counts_hold_by_construction_in_every_seed(shares):
    trial, s = shares
    for fid, *_ in _facts(trial, "count"):
        assert s[fid]["share"] == 1.0, (trial, fid)
    kinds = trial_facts.REPLICA_KIND[trial]
    assert {k for k, v in kinds.items() if v == "by construction"} == \
        {"n_randomised", "n_treatment", "n_control"}


def test_committed_seed_shares_match_the_generator_version():
    doc = trial_facts._committed_shares()
    assert doc is not None and doc["generator_version"] == rr_trials.GENERATOR_VERSION
    for trial, facts in trial_facts.FACTS.items():
        assert doc["trials"][trial]["seeds"] == 200
        assert set(doc["trials"][trial]["facts"]) == {f[0] for f in facts}

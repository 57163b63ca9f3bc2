"""Array-level estimators with thin pandas front-ends.

Each function returns a frozen result object (tidy DataFrames with fixed column names,
``choices``, ``to_dict()``, HTML display). Modules:

``km``          Kaplan–Meier, Nelson–Aalen / Fleming–Harrington cumulative hazard, influence,
                conditional survival, quantiles, survival at times, RMST, reverse KM, follow-up
``rmst``        RMST difference / ratio of two groups (survRM2 ``rmst2``)
``logrank``     log-rank, stratified, G-rho / Fleming–Harrington, Gehan, Tarone–Ware, trend, pairwise
``cox``         Cox PH (Efron/Breslow, strata, weights, robust/cluster, (start, stop])
``zph``         proportional-hazards test (R ``cox.zph``), scaled Schoenfeld smooth
``coxpredict``  Cox predictions: survfit.coxph curves, basehaz, predict lp / risk
``residuals``   Cox residuals (martingale ... dfbetas)
``concordance`` Harrell's C (R ``concordance``), time-dependent AUC
``firth``       Firth-penalized Cox
``grouptests``  Fisher, chi-square, Wilcoxon, Kruskal–Wallis, t, ANOVA, binomial CIs
``competing``   cumulative incidence, Gray's test, cause-specific Cox (Fine–Gray in ``finegray``)
``finegray_td`` Fine–Gray on (start, stop] data (``survival::finegray`` weights + weighted Cox)
``timedep``     (start, stop] splitting, time-dependent Cox, Mantel–Byar, Simon–Makuch, immortal time
``landmark``    landmark analysis
"""

import importlib

# Lazy: the submodules (and scipy) load on first use, so ``import aplcohort.stats.outcome``
# or ``import aplcohort`` does not pay for every estimator.
_WHERE = {
    "cause_specific_cox": "competing", "cumulative_incidence": "competing",
    "gray_test": "competing", "pairwise_gray": "competing",
    "coxph": "cox", "univariable_multivariable": "cox", "fine_gray": "finegray",
    "firth_coxph": "firth", "binom_ci": "grouptests", "chisq_test": "grouptests",
    "compare_groups": "grouptests", "compare_response_rates": "grouptests",
    "fisher_exact": "grouptests", "kruskal_wallis": "grouptests", "t_test": "grouptests",
    "wilcoxon_ranksum": "grouptests", "kaplan_meier": "km", "median_followup": "km",
    "number_at_risk": "km", "rmst_difference": "km", "reverse_kaplan_meier": "km",
    "rmst2": "rmst",
    "logrank_test": "logrank", "pairwise_logrank": "logrank", "trend_test": "logrank",
    "weighted_logrank": "logrank",
    "compare_naive_vs_timedependent": "timedep", "immortal_time_check": "timedep",
    "mantel_byar": "timedep", "simon_makuch": "timedep", "split_at_exposure": "timedep",
    "td_coxph": "timedep", "cox_zph": "zph",
    "zph_smooth": "zph", "predict_lp": "coxpredict", "basehaz": "coxpredict",
    "predict_survival": "coxpredict", "cox_residuals": "residuals",
    "td_auc": "concordance",
    "finegray_expand": "finegray_td", "td_fine_gray": "finegray_td", "time_function": "finegray",
}


# ``landmark`` is both a submodule and a function: bind the function now, or a later
# ``import aplcohort.stats.landmark`` would leave the module under that name.
from .landmark import landmark  # noqa: E402  (cheap: no scipy at import)
from .concordance import concordance  # noqa: E402  (same reason; cheap at import)
from .outcome import Outcome  # noqa: E402


def __getattr__(name):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'aplcohort.stats' has no attribute {name!r}")
    val = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = val
    return val


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "Outcome", "kaplan_meier", "median_followup", "number_at_risk", "rmst_difference",
    "reverse_kaplan_meier", "rmst2",
    "logrank_test", "weighted_logrank", "trend_test", "pairwise_logrank",
    "coxph", "univariable_multivariable", "cox_zph", "firth_coxph",
    "fisher_exact", "chisq_test", "wilcoxon_ranksum", "kruskal_wallis", "t_test", "binom_ci",
    "compare_groups", "compare_response_rates",
    "cumulative_incidence", "gray_test", "pairwise_gray", "fine_gray", "cause_specific_cox",
    "split_at_exposure", "td_coxph", "mantel_byar", "simon_makuch", "landmark",
    "immortal_time_check", "compare_naive_vs_timedependent",
    "zph_smooth", "predict_lp", "basehaz", "predict_survival", "cox_residuals", "concordance",
    "td_auc",
    "finegray_expand", "td_fine_gray", "time_function",
]

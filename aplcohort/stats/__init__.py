"""Array-level estimators with thin pandas front-ends.

Each function returns a frozen result object (tidy DataFrames with fixed column names,
``choices``, ``to_dict()``, HTML display). Modules:

``km``          Kaplan–Meier, quantiles, survival at times, RMST, reverse-KM follow-up
``logrank``     log-rank, stratified, G-rho / Fleming–Harrington, Gehan, Tarone–Ware, trend, pairwise
``cox``         Cox PH (Efron/Breslow, strata, weights, robust/cluster, (start, stop])
``zph``         proportional-hazards test (R ``cox.zph``)
``firth``       Firth-penalized Cox
``grouptests``  Fisher, chi-square, Wilcoxon, Kruskal–Wallis, t, ANOVA, binomial CIs
``competing``   cumulative incidence, Gray's test, cause-specific Cox (Fine–Gray in ``finegray``)
``timedep``     (start, stop] splitting, time-dependent Cox, Mantel–Byar, Simon–Makuch, immortal time
``landmark``    landmark analysis
"""

from .competing import cause_specific_cox, cumulative_incidence, gray_test, pairwise_gray
from .cox import coxph, univariable_multivariable
from .finegray import fine_gray
from .firth import firth_coxph
from .grouptests import (binom_ci, chisq_test, compare_groups, compare_response_rates,
                         fisher_exact, kruskal_wallis, t_test, wilcoxon_ranksum)
from .km import kaplan_meier, median_followup, number_at_risk, rmst_difference
from .landmark import landmark
from .logrank import logrank_test, pairwise_logrank, trend_test, weighted_logrank
from .outcome import Outcome
from .timedep import (compare_naive_vs_timedependent, immortal_time_check, mantel_byar,
                      simon_makuch, split_at_exposure, td_coxph)
from .zph import cox_zph

__all__ = [
    "Outcome", "kaplan_meier", "median_followup", "number_at_risk", "rmst_difference",
    "logrank_test", "weighted_logrank", "trend_test", "pairwise_logrank",
    "coxph", "univariable_multivariable", "cox_zph", "firth_coxph",
    "fisher_exact", "chisq_test", "wilcoxon_ranksum", "kruskal_wallis", "t_test", "binom_ci",
    "compare_groups", "compare_response_rates",
    "cumulative_incidence", "gray_test", "pairwise_gray", "fine_gray", "cause_specific_cox",
    "split_at_exposure", "td_coxph", "mantel_byar", "simon_makuch", "landmark",
    "immortal_time_check", "compare_naive_vs_timedependent",
]

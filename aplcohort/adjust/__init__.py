"""Adjustment for confounding: propensity scores, weights, matching, balance,
adjusted curves and E-values.

Modules
-------
``ps``        propensity scores (logistic / multinomial, statsmodels), positivity checks
``weights``   ATE / ATT / ATO / matching weights, stabilising, trimming, truncation, ESS
``matching``  1:k nearest-neighbour matching on the logit score (as MatchIt)
``balance``   SMDs and variance ratios before / after (as MatchIt::summary), weighted Table 1
``curves``    weighted KM, weighted Aalen–Johansen CIF with robust (IJ) variance
``effects``   weighted Cox, robust score ("weighted log-rank") test, adjusted risks
``finegray``  weighted Fine–Gray (R finegray() expansion + weighted Cox)
``evalue``    E-values (VanderWeele & Ding 2017)
``plan``      handler-style functions for plans
"""

from .ps import PositivityError, PropensityScore, propensity_score
from .weights import ESTIMANDS, PSWeights, psweights
from .matching import MatchResult, match_nearest
from .balance import BalanceResult, balance, weighted_table1
from .curves import AdjustedCurves, weighted_cif, weighted_km
from .effects import (AdjustedRisks, WeightedCoxResult, WeightedLogrankResult, adjusted_risks,
                      weighted_cox, weighted_logrank)
from .evalue import evalue, evalue_hr, evalue_rr
from .finegray import finegray_data, weighted_finegray

__all__ = ["propensity_score", "PropensityScore", "PositivityError", "psweights", "PSWeights",
           "ESTIMANDS", "match_nearest", "MatchResult", "balance", "BalanceResult",
           "weighted_table1", "weighted_km", "weighted_cif", "AdjustedCurves", "weighted_cox",
           "WeightedCoxResult", "weighted_logrank", "WeightedLogrankResult", "adjusted_risks",
           "AdjustedRisks", "evalue", "evalue_hr", "evalue_rr", "finegray_data",
           "weighted_finegray"]

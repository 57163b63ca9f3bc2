"""Adjustment for confounding: propensity scores, weights, matching, balance,
adjusted curves and E-values.

Modules
-------
``ps``        propensity scores (logistic / multinomial, statsmodels), positivity checks
``weights``   ATE / ATT / ATO / matching weights, stabilising, trimming, truncation, ESS
``matching``  1:k nearest-neighbour matching on the logit score (as MatchIt)
``balance``   SMDs and variance ratios before / after (as MatchIt::summary), weighted Table 1
``curves``    weighted KM, weighted Aalen-Johansen CIF with robust (IJ) variance
``effects``   weighted Cox and robust score test, adjusted risks (IPTW, g-computation)
``evalue``    E-values (VanderWeele & Ding 2017)
``plan``      handler-style functions for plans
"""

from .ps import PositivityError, PropensityScore, propensity_score
from .weights import ESTIMANDS, PSWeights, psweights
from .matching import MatchResult, match_nearest

__all__ = ["propensity_score", "PropensityScore", "PositivityError", "psweights", "PSWeights",
           "ESTIMANDS", "match_nearest", "MatchResult"]

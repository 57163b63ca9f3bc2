"""aplcohort.synthetic: labelled synthetic cohorts generated from explicit models.

* :mod:`aplcohort.synthetic.min2022`: replica of the Min 2022 relapsed-APL cohort
  (every count of the abstract exact for every seed).
* :mod:`aplcohort.synthetic.scenario` / :mod:`aplcohort.synthetic.engine`: a
  declarative YAML scenario language and a vectorised simulator.
* :mod:`aplcohort.synthetic.published`: scenario parameters solved from published
  headline numbers (bundled under ``aplcohort/synthetic/scenarios``).

Every generated row carries ``synthetic = yes``; randomness always comes from an
explicit seed (``numpy.random.PCG64``).
"""

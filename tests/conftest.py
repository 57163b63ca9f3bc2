"""Settings of the whole test suite.

Hypothesis draws the same examples on every run (``derandomize``: a fixed seed per test,
no example database), so a CI run on the same commit gives the same result, as the project
asks of all randomness. ``HYPOTHESIS_PROFILE=explore pytest ...`` searches at random instead
(how new failing cases are found; a case found that way becomes a plain test).
"""

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

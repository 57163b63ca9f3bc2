"""The top-level package: lazy public names, lean import."""

import subprocess
import sys

import aplcohort


def test_import_does_not_load_heavy_modules():
    # `import aplcohort` must not pull in scipy.stats, pandas or matplotlib (issue 13);
    # checked by module presence, not by timing.
    code = ("import sys, aplcohort; "
            "print(','.join(m for m in ('scipy.stats', 'pandas', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_names_resolve_to_the_public_functions():
    from aplcohort.cohort import load
    from aplcohort.plan import run_plan
    from aplcohort.stats.km import kaplan_meier
    assert aplcohort.run_plan is run_plan
    assert aplcohort.load is load
    assert aplcohort.kaplan_meier is kaplan_meier
    for name in aplcohort.__all__:
        assert getattr(aplcohort, name) is not None


def test_unknown_name_is_an_attribute_error():
    import pytest
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        aplcohort.nope  # noqa: B018

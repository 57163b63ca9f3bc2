"""Smoke test: ``benchmarks/bench_public.py --quick`` runs end to end (no timing asserted).

It times aplcohort, lifelines, scikit-survival and R on small data and checks that the
tools agree before timing; skipped where R or lifelines is missing (the benchmark's
peers, not aplcohort's dependencies).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_bench_public_quick_runs_and_tools_agree(tmp_path):
    pytest.importorskip("lifelines", reason="lifelines (a benchmark peer) is not installed")
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript (a benchmark peer) is not installed")
    out = tmp_path / "quick.md"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_public.py"), "--quick",
                        "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    targets = text.split("## Targets", 1)[1].split("## All timings", 1)[0]
    verdicts = re.findall(r"\| (yes|no|not measured) \|$", targets, flags=re.M)
    # every target of issue 13 is present and computed from a measurement
    assert len(verdicts) >= 12 and set(verdicts) <= {"yes", "no"}, targets
    for name in ("coxph", "fine_gray", "td_coxph", "cumulative_incidence", "kaplan_meier"):
        assert f"growth: {name} |" in targets
    # the agreement checked before timing: R's numbers, not our own
    agree = dict(re.findall(r"^\* (.+ vs R[^:]*): ([0-9.e+-]+)$", text, flags=re.M))
    assert len(agree) >= 6, text
    assert all(float(v) < 1e-8 for v in agree.values()), agree

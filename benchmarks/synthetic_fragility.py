"""How fragile are the Min 2022 abstract's findings in a 52-patient cohort?

Generates the synthetic Min 2022 replica for seeds 1..200 (same model, same
fixed counts; only the random draws differ), tests the four qualitative
findings on each (aplcohort.synthetic.min2022.findings) and writes
docs/min2022_fragility.md.

Run:  .venv/bin/python benchmarks/synthetic_fragility.py [--seeds 200] [--out docs/min2022_fragility.md]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import beta

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aplcohort.synthetic import min2022  # noqa: E402

ROWS = [
    ("mcr2", "mCR2 rate higher after ATO than IC", "Fisher exact 2x2, p < 0.05, ATO rate higher"),
    ("anc", "faster neutrophil recovery after ATO", "Gray's test (death before recovery competing), "
            "p < 0.05, day-28 incidence higher after ATO"),
    ("plt", "faster platelet recovery after ATO", "as for neutrophils"),
    ("infection", "fewer grade >= 3 infections after ATO", "Fisher exact 2x2, p < 0.05, ATO rate lower"),
    ("survival", "no OS difference among ATO-based / auto / allo", "3-group log-rank from post-remission "
                 "start, p >= 0.05"),
]


def clopper_pearson(x, n, level=0.95):
    a = (1 - level) / 2
    lo = 0.0 if x == 0 else beta.ppf(a, x, n - x + 1)
    hi = 1.0 if x == n else beta.ppf(1 - a, x + 1, n - x)
    return lo, hi


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "docs" / "min2022_fragility.md"))
    args = ap.parse_args(argv)
    seeds = range(1, args.seeds + 1)
    res = {k: [] for k, _, _ in ROWS}
    pvals = {k: [] for k, _, _ in ROWS}
    used = None
    for s in seeds:
        f = min2022.findings(min2022.generate(s))
        used = f["tests_used"]
        for k, _, _ in ROWS:
            res[k].append(f[k]["holds"])
            pvals[k].append(f[k]["p"])
    n = len(seeds)
    allfour = np.all([res[k] for k, _, _ in ROWS], axis=0)
    default = min2022.findings(min2022.generate(2022))
    L = ["# Min 2022 replica: how often each finding holds over 200 seeds", "",
         "SYNTHETIC DATA. Written by `benchmarks/synthetic_fragility.py` "
         f"(generator `{min2022.GENERATOR}` {min2022.GENERATOR_VERSION}, seeds 1..{n}, default parameters).",
         "Every cohort has exactly the counts of the abstract (52 / 30 ATO / 11 IC / 19-12-6 / ...); "
         "only the random draws differ. A finding *holds* when the test below gives the abstract's "
         "conclusion with the stated direction.", "",
         "| finding | test | holds (of %d) | %% | 95 %% CI (Clopper-Pearson) | median p | default seed 2022 p |" % n,
         "|---|---|---|---|---|---|---|"]
    for k, label, test in ROWS:
        x = int(np.sum(res[k]))
        lo, hi = clopper_pearson(x, n)
        L.append(f"| {label} | {test} | {x} | {100 * x / n:.1f} | {100 * lo:.1f}-{100 * hi:.1f} | "
                 f"{np.median(pvals[k]):.3g} | {default[k]['p']:.3g} |")
    x = int(allfour.sum())
    lo, hi = clopper_pearson(x, n)
    L.append(f"| **all five at once** | | {x} | {100 * x / n:.1f} | {100 * lo:.1f}-{100 * hi:.1f} | | |")
    L += ["", "Tests used when this file was written:", ""]
    for k, v in used.items():
        L.append(f"- {k}: `{v}`")
    L += ["",
          "Time zeros: reinduction start for count recovery (death before recovery competing, recovery wins "
          "a same-day tie); post-remission start for overall survival; censoring at last follow-up.",
          "",
          "Reading: the model builds in a large ATO advantage for mCR2, count recovery and infections, "
          "and equal relapse hazards across post-remission groups, yet with 30 vs 11 patients a "
          "finding can still fail in some seeds; the last row is the probability that one 52-patient "
          "study reproduces the whole abstract. The default cohort (seed 2022) shows every finding "
          "(tested in `tests/test_synthetic_min2022.py`)."]
    Path(args.out).write_text("\n".join(L) + "\n", encoding="utf-8")
    print("\n".join(L))


if __name__ == "__main__":
    main()

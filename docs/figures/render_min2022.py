"""Render every figure of a Min 2022 run (bundled synthetic replica) for docs/figures.md.

Run from the repository root:  PYTHONPATH=$PWD .venv/bin/python docs/figures/render_min2022.py
Writes docs/figures/min2022_<analysis>__<figure>.png at 110 dpi (small files for the docs;
`aplcohort replicate` writes 300 dpi PNG + PDF).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib as mpl  # noqa: E402

from aplcohort.plan import run_plan  # noqa: E402
from aplcohort.plots.export import SAVE_RC, tight_bbox  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "figures"


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_plan("min2022", data=ROOT / "data" / "synthetic" / "min2022.csv")
    for aid, a in res.analyses.items():
        for name, fig in a.figures:
            stem = name if name.startswith(aid) else f"{aid}__{name}"
            p = OUT / f"min2022_{stem}.png"
            with mpl.rc_context(SAVE_RC):
                fig.savefig(p, dpi=110, bbox_inches=tight_bbox(fig), metadata={"Software": None},
                            pil_kwargs={"compress_level": 9})
            print(p.relative_to(ROOT))


if __name__ == "__main__":
    main()

"""Write a plan run's outputs: results.json, provenance.json, tables/, figures/, report.html."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from .report import build_report


def _table_formats(output: dict) -> tuple[str, ...]:
    fm = output.get("tables") or ["csv", "docx", "tex"]
    return tuple("latex" if f == "tex" else f for f in fm)


def write_outputs(res, out: Path) -> None:
    from ..plots.export import save_figure
    from ..tables.export import JournalTable, save_table

    out.mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    output = res.plan.get("output") or {}
    fig_formats = tuple(output.get("formats") or ["png", "pdf"])
    if "png" not in fig_formats:
        fig_formats = ("png", *fig_formats)
    dpi = int(output.get("dpi", 300))
    sections = []
    for aid, a in res.analyses.items():
        sec = {"id": aid, "title": a.title, "kind": a.kind, "choices": a.choices,
               "tables": [], "figures": [], "notes": list(a.notes)}
        for name, caption, tab in a.tables:
            stem = out / "tables" / (aid if name == aid else f"{aid}__{name}")
            if isinstance(tab, JournalTable):
                save_table(tab, stem, formats=_table_formats(output))
                sec["tables"].append((caption, tab.data))
            elif isinstance(tab, pd.DataFrame):
                tab.to_csv(stem.with_suffix(".csv"), index=False)
                sec["tables"].append((caption, tab))
        for name, fig in a.figures:
            stem = out / "figures" / name
            save_figure(fig, stem, formats=fig_formats, dpi=dpi)
            sec["figures"].append(stem.with_suffix(".png"))
            plt.close(fig)
        sections.append(sec)
    doc = res.to_dict()
    (out / "results.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                                      encoding="utf-8")
    (out / "provenance.json").write_text(json.dumps(doc["provenance"], indent=2) + "\n", encoding="utf-8")
    if res.published is not None:
        res.published.to_csv(out / "tables" / "published_vs_reproduced.csv", index=False)
    html = build_report(title=res.plan.get("title", res.plan.get("plan", "Analysis report")),
                        synthetic=bool(res.provenance.get("synthetic_data")), sections=sections,
                        provenance=res.provenance, attrition=res.cohort.attrition.to_frame(),
                        published=res.published, warnings=res.warnings)
    (out / "report.html").write_text(html, encoding="utf-8")

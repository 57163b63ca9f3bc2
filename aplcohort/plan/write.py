"""Write a plan run's outputs: results.json, provenance.json, tables/, figures/, report.html."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from .report import build_report


def _table_formats(output: dict) -> tuple[str, ...]:
    fm = output.get("tables") or ["csv", "docx", "tex"]
    return tuple(fm)


_P_COLUMNS = {"p", "p_adj", "p_value", "pvalue"}


def journal_table_from_frame(df: pd.DataFrame, caption: str):
    """Format a tidy result frame as a journal table (p as '<0.001', 3 decimals elsewhere)."""
    from ..tables.export import JournalTable
    from ..tables.format import format_p

    cells = pd.DataFrame(index=df.index)
    for c in df.columns:
        v = df[c]
        if c in _P_COLUMNS:
            cells[c] = [format_p(x) for x in v]
        elif pd.api.types.is_bool_dtype(v):
            cells[c] = ["yes" if x else "no" for x in v]
        elif pd.api.types.is_integer_dtype(v):
            cells[c] = [str(int(x)) for x in v]
        elif pd.api.types.is_float_dtype(v):
            cells[c] = ["NA" if pd.isna(x) else (str(int(x)) if float(x).is_integer() and abs(x) < 1e6
                                                   else f"{x:.3f}") for x in v]
        else:
            cells[c] = ["" if (not isinstance(x, (list, dict)) and pd.isna(x)) else str(x) for x in v]
    return JournalTable(caption=caption, data=cells.reset_index(drop=True), raw=df.reset_index(drop=True))


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
                tab.to_csv(stem.with_suffix(".csv"), index=False)  # full precision
                jt = journal_table_from_frame(tab, caption)
                fmts = tuple(f for f in _table_formats(output) if f != "csv")
                if fmts:
                    save_table(jt, stem, formats=fmts)
                sec["tables"].append((caption, jt.data))
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

"""Self-contained HTML report: figures embedded as base64 PNG, opens offline.

Layout (top to bottom): title, synthetic-data banner, a short summary of the run,
a table of contents, ONE collapsible warnings panel (grouped by kind, each message
once with the analyses it concerns), published vs reproduced facts, attrition, one
section per analysis (choices, notes, figures, tables; an analysis that produced
nothing says why), provenance.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pandas as pd

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;margin:.6em 0 1.2em 0;font-size:.88em}
th,td{border-top:1px solid #ddd;border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} .banner{background:#fff3cd;border:1px solid #e0c36b;padding:.6em 1em;margin:1em 0}
.holds{color:#176b2c;font-weight:600} .fails{color:#a4161a;font-weight:600}
.choices{color:#555;font-size:.85em} figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee}
details.warnings{background:#fdf6e3;border:1px solid #e6d3a3;padding:.4em 1em;margin:1em 0}
details.warnings summary{cursor:pointer;font-weight:600}
details.warnings h4{margin:.8em 0 .2em 0;font-size:.95em}
details.warnings li{margin:.25em 0}
.where{color:#555;font-size:.85em}
nav.toc ol{columns:2;font-size:.9em} nav.toc li{margin:.1em 0}
.empty{color:#a4161a}
.footnotes p{margin:.1em 0;font-size:.85em;color:#333}
code{background:#f4f4f4;padding:0 .2em}
"""

#: Plain-language headings of the warning categories (the warning class names).
WARNING_GROUPS = {
    "not estimable": "Analyses that could not be estimated",
    "internal error": "Analyses that failed by an internal error (a bug of aplcohort)",
    "SeparationWarning": "Infinite estimates (monotone likelihood / separation)",
    "ImmortalTimeWarning": "Immortal-time bias risk",
    "ConvergenceWarning": "Models that did not converge",
    "NumericalWarning": "Numerical problems",
    "RuntimeWarning": "Numerical problems",
    "FigureTextWarning": "Figure texts shortened or shown differently from the data",
}
_WARN_RE = re.compile(r"^\[(?P<aid>[^\]]+)\] (?P<cat>[A-Za-z ]+?): (?P<msg>.*)$", re.S)


def group_warnings(warnings: list[str]) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """Group run warnings for the report (pure).

    Each warning ``"[analysis id] Category: message"`` is filed under its category;
    identical messages (after replacing the analysis's own id by "this analysis") are
    shown once, with every analysis they concern. Warnings without an analysis id
    (data loading) go under "Data".

    Returns
    -------
    list of (heading, [(message, [analysis ids])]) in order of first appearance.

    Examples
    --------
    >>> g = group_warnings(["[a] SeparationWarning: x is infinite",
    ...                     "[b] SeparationWarning: x is infinite", "bad date in row 3"])
    >>> g[0][0], g[0][1][0][1], g[1][0]
    ('Infinite estimates (monotone likelihood / separation)', ['a', 'b'], 'Data')
    """
    groups: dict[str, dict[str, list[str]]] = {}
    for w in warnings:
        m = _WARN_RE.match(str(w))
        if m:
            aid, cat, msg = m.group("aid"), m.group("cat").strip(), m.group("msg").strip()
            msg = msg.replace(f"analysis '{aid}'", "this analysis")
            if msg and msg[0].islower():
                msg = msg[0].upper() + msg[1:]
        else:
            aid, cat, msg = None, "Data", str(w)
        heading = WARNING_GROUPS.get(cat, cat if cat == "Data" else f"{cat}")
        bucket = groups.setdefault(heading, {})
        ids = bucket.setdefault(msg, [])
        if aid is not None and aid not in ids:
            ids.append(aid)
    return [(h, list(b.items())) for h, b in groups.items()]


def _img(path: Path) -> str:
    """The PNG embedded at 1.4 x its printed size (a 300-dpi, 85-mm figure shows 1.4 x
    85 mm wide on a 96-dpi screen, 7-pt text as about 13 px), the same scale for every
    figure, so a short forest plot is not blown up to the page width."""
    raw = Path(path).read_bytes()
    data = base64.b64encode(raw).decode("ascii")
    style = ""
    try:
        from io import BytesIO

        from PIL import Image
        with Image.open(BytesIO(raw)) as im:
            dpi = float((im.info.get("dpi") or (300, 300))[0]) or 300.0
            style = f" style='width:{im.width / dpi * 96 * 1.4:.0f}px'"
    except (ImportError, OSError, ValueError):
        pass
    return f"<img alt='{html.escape(Path(path).stem)}'{style} src='data:image/png;base64,{data}'>"


_PLAIN_CELL = re.compile(r"[^\t\n\r]*")


def _plain(v) -> bool:
    return isinstance(v, str) and v == v.strip() and _PLAIN_CELL.fullmatch(v) is not None


def _table_html(df: pd.DataFrame) -> str:
    """``df.to_html(index=False, na_rep="—", escape=True, border=0)``, the same text.

    A frame of plain text cells (every formatted journal table) is written directly:
    pandas' HTML formatter took ~4 ms a table, a fifth of the report; anything else
    (numbers, missing values, padded text, a MultiIndex) goes through pandas.
    """
    cols = list(df.columns)
    cells = df.to_numpy(dtype=object).tolist()
    if not (all(_plain(c) for c in cols) and all(_plain(v) for r in cells for v in r)):
        return df.to_html(index=False, na_rep="—", escape=True, border=0)

    def esc(v: str) -> str:
        return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = ['<table class="dataframe">', "  <thead>", '    <tr style="text-align: right;">']
    out += [f"      <th>{esc(c)}</th>" for c in cols]
    out += ["    </tr>", "  </thead>", "  <tbody>"]
    for r in cells:
        out.append("    <tr>")
        out += [f"      <td>{esc(v)}</td>" for v in r]
        out.append("    </tr>")
    out += ["  </tbody>", "</table>"]
    return "\n".join(out)


def _anchor(aid: str) -> str:
    return "a-" + re.sub(r"[^A-Za-z0-9_-]", "_", str(aid))


def _warnings_html(warnings: list[str], known_ids: set) -> list[str]:
    grouped = group_warnings(warnings)
    n = sum(len(items) for _h, items in grouped)
    out = [f"<details class='warnings' id='warnings'><summary>Warnings: {n} "
           f"(grouped by kind; click to open)</summary>"]
    for heading, items in grouped:
        out.append(f"<h4>{html.escape(heading)} ({len(items)})</h4><ul>")
        for msg, ids in items:
            where = ", ".join(f"<a href='#{_anchor(i)}'>{html.escape(i)}</a>" if i in known_ids
                              else html.escape(i) for i in ids)
            out.append(f"<li>{html.escape(msg)}"
                       + (f" <span class='where'>— in {where}</span>" if ids else "") + "</li>")
        out.append("</ul>")
    out.append("</details>")
    return out


def _status_label(section: dict) -> str:
    from .kinds import STATUS_LABEL
    return STATUS_LABEL.get(section.get("status"), "Not estimable")


def build_report(*, title: str, synthetic: bool, sections: list[dict], provenance: dict,
                 attrition: pd.DataFrame | None, published: pd.DataFrame | None,
                 warnings: list[str], description: str | None = None) -> str:
    """Assemble the report.

    ``sections`` is a list of dicts with keys ``id``, ``title``, ``kind``, ``choices`` (str),
    ``tables`` (list of (caption, DataFrame[, footnotes])), ``figures`` (list of PNG paths),
    ``notes`` (list of str), optionally ``status`` and ``reason`` (not estimable).
    ``warnings`` are the run's warnings ``"[analysis id] Category: message"``; they are
    shown once, grouped, in one collapsible panel after the summary
    (:func:`group_warnings`). ``description`` (the plan's) is printed under the title.
    """
    known = {s["id"] for s in sections}
    # the run lists analyses that could not be estimated among its warnings
    ne = {}
    for w in warnings or []:
        m = _WARN_RE.match(str(w))
        if m and m.group("cat").strip() in ("not estimable", "internal error"):
            st = "error" if m.group("cat").strip() == "internal error" else "not estimable"
            ne.setdefault(m.group("aid"), (st, m.group("msg").strip()))
    sections = [dict(s, status=ne[s["id"]][0], reason=ne[s["id"]][1])
                if s["id"] in ne and s.get("status", "ok") == "ok" else s for s in sections]
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    if description:
        out.append(f"<p class='description'>{html.escape(str(description))}</p>")
    if synthetic:
        out.append("<div class='banner'><strong>SYNTHETIC DATA.</strong> Every patient in this "
                   "report was generated by a model (aplcohort.synthetic); no real patient is "
                   "described. Numbers illustrate the analysis, not clinical truth.</div>")
    # summary
    n_err = sum(1 for s in sections if s.get("status", "ok") == "error")
    n_ne = sum(1 for s in sections if s.get("status", "ok") not in ("ok", "error"))
    n_fig = sum(len(s.get("figures", [])) for s in sections)
    n_tab = sum(len(s.get("tables", [])) for s in sections)
    n_warn = sum(len(items) for _h, items in group_warnings(warnings)) if warnings else 0
    def n_of(k, word):
        return f"{k} {word}{'' if k == 1 else 's'}"
    n_an = len(sections)
    has_pub = published is not None and len(published)
    summ = (f"{n_an} {'analysis' if n_an == 1 else 'analyses'}"
            f" ({n_of(n_fig, 'figure')}, {n_of(n_tab, 'table')})"
            # the published-vs-reproduced table is not an analysis's: counted apart
            + (" and the <a href='#published'>published-vs-reproduced table</a>" if has_pub else "")
            + (f"; {n_ne} not estimable" if n_ne else "")
            + (f"; <strong>{n_err} failed by an internal error</strong>" if n_err else "")
            + (f"; <a href='#warnings'>{n_of(n_warn, 'warning')}</a>" if n_warn
               else "; no warnings"))
    out.append(f"<p id='summary'><strong>Summary.</strong> {summ}.</p>")
    # table of contents
    toc = []
    if published is not None and len(published):
        toc.append("<li><a href='#published'>Published vs reproduced</a></li>")
    if attrition is not None and len(attrition):
        toc.append("<li><a href='#attrition'>Attrition</a></li>")
    for s in sections:
        flag = f" ({_status_label(s).lower()})" if s.get("status", "ok") != "ok" else ""
        toc.append(f"<li><a href='#{_anchor(s['id'])}'>{html.escape(s['title'])}</a>{flag}</li>")
    toc.append("<li><a href='#provenance'>Provenance</a></li>")
    out.append("<nav class='toc'><h2>Contents</h2><ol>" + "".join(toc) + "</ol></nav>")
    if warnings:
        out += _warnings_html(warnings, known)
    if published is not None and len(published):
        from .min2022 import facts_html  # explanation above the table; kind, CI, test, verdict
        out.append("<div id='published'></div>")
        out.append(facts_html(published))
    if attrition is not None and len(attrition):
        out.append("<h2 id='attrition'>Attrition</h2>")
        out.append(_table_html(attrition.drop(columns=["excluded_ids"], errors="ignore")))
    out.append("<h2>Analyses</h2>")
    for s in sections:
        out.append(f"<h3 id='{_anchor(s['id'])}'>{html.escape(s['title'])} "
                   f"<small>({html.escape(s['kind'])}, id <code>{html.escape(s['id'])}</code>)</small></h3>")
        if s.get("status", "ok") != "ok":
            out.append(f"<p class='empty'><strong>{_status_label(s)}:</strong> "
                       f"{html.escape(str(s.get('reason') or 'no reason recorded'))}</p>")
        if s.get("choices"):
            out.append(f"<div class='choices'>{html.escape(s['choices'])}</div>")
        for note in s.get("notes", []):
            if s.get("status", "ok") != "ok" and note == f"{_status_label(s)}: {s.get('reason')}":
                continue  # the paragraph above says it
            out.append(f"<p>{html.escape(note)}</p>")
        for fig in s.get("figures", []):
            out.append(f"<figure>{_img(fig)}</figure>")
        for item in s.get("tables", []):
            cap, df = item[0], item[1]
            if cap:
                out.append(f"<p><em>{html.escape(cap)}</em></p>")
            out.append(_table_html(df))
            foot = item[2] if len(item) > 2 else ()
            if foot:   # what the table's markers, NE and NR cells mean, as in the DOCX
                out.append("<div class='footnotes'>" + "".join(
                    f"<p>{html.escape(str(f))}</p>" for f in foot) + "</div>")
        if (not s.get("figures") and not s.get("tables") and s.get("status", "ok") == "ok"):
            out.append("<p class='empty'>This analysis produced no table or figure; its numbers "
                       "are in <code>results.json</code> under "
                       f"<code>analyses.{html.escape(s['id'])}</code>.</p>")
    out.append("<h2 id='provenance'>Provenance</h2><table><tbody>")
    for k, v in provenance.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a} {b}" for a, b in v.items())
        out.append(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>")
    out.append("</tbody></table></body></html>")
    # control characters from the data (ESC, BEL, vertical tab...) are invalid in HTML:
    # shown as their visible symbol, as in the DOCX (the base64 images hold none)
    from ..tables.export import html_safe_controls
    return html_safe_controls("\n".join(out))

"""A whole Min 2022 run as a reader sees it (issue 15): one colour per group level in
every figure, TrueType fonts in every PDF, and a report with a summary, contents, one
grouped warnings panel, and content in every analysis section."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aplcohort.plan import run_plan  # noqa: E402
from aplcohort.plan.report import build_report, group_warnings  # noqa: E402
from aplcohort.plan.runner import numerical_warning_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("min2022-figs")
    res = run_plan("min2022", data=DATA, out=out, now=NOW)
    return res, out


def _hex(c) -> str:
    return mcolors.to_hex(c, keep_alpha=False).lower()


def _level_colours(res) -> dict:
    """{level: {colour: [figure names]}} read back from the artists of every figure."""
    seen: dict = {}

    def note(level, colour, where):
        seen.setdefault(str(level), {}).setdefault(_hex(colour), []).append(where)

    data = res.cohort.data.set_index("patient_id")
    for aid, a in res.analyses.items():
        for name, fig in a.figures:
            where = f"{aid}/{name}"
            for ax in fig.axes:
                for ln in ax.lines:
                    gid = ln.get_gid() or ""
                    if gid.startswith("curve:") and gid.count(":") == 1:
                        note(gid.split(":", 1)[1], ln.get_color(), where)
                for tx in ax.texts:
                    gid = tx.get_gid() or ""
                    if gid.startswith("risk-label:"):
                        note(gid.split(":", 2)[2], tx.get_color(), where)
                for p in ax.patches:
                    gid = p.get_gid() or ""
                    if gid.startswith("lane:"):
                        pid = gid.split(":", 1)[1]
                        lv = data.loc[pid, "postremission_modality"]
                        note("not reinduced" if pd.isna(lv) else lv, p.get_facecolor(), where)
    return seen


def test_each_group_level_has_one_colour_in_every_figure(run):
    res, _ = run
    seen = _level_colours(res)
    for level in ("ATO-based", "IC", "auto HSCT", "allo HSCT"):
        figs = {w for ws in seen[level].values() for w in ws}
        assert len(figs) >= 2, (level, figs)   # the level is drawn in several figures
        assert len(seen[level]) == 1, (level, seen[level])
    # allo / auto appear in the swimmer and in the KM / CIF figures with the same colour
    for level in ("auto HSCT", "allo HSCT"):
        figs = next(iter(seen[level].values()))
        assert any(f.startswith("swimmer/") for f in figs)
        assert any(f.startswith("os_by_consolidation/") for f in figs)
        assert any(f.startswith("cir_by_consolidation/") for f in figs)
    colours = {lv: next(iter(seen[lv])) for lv in ("ATO-based", "IC", "auto HSCT", "allo HSCT")}
    assert len(set(colours.values())) == 4  # different levels, different colours


def test_swimmer_second_relapse_marker_is_no_group_colour(run):
    res, _ = run
    seen = _level_colours(res)
    levels = ("ATO-based", "IC", "auto HSCT", "allo HSCT", "none", "not reinduced")
    group_colours = {c for lv in levels for c in seen[lv]}
    fig = res.analyses["swimmer"].figures[0][1]
    ax = fig.axes[0]
    rel = [ln for ln in ax.lines if ln.get_gid() == "event:relapse2"][0]
    assert _hex(rel.get_markerfacecolor()) not in group_colours
    assert _hex(rel.get_markeredgecolor()) not in group_colours


def test_every_pdf_of_the_run_embeds_truetype_never_type3(run):
    _, out = run
    pdfs = sorted((out / "figures").glob("*.pdf"))
    assert len(pdfs) >= 10
    for p in pdfs:
        data = p.read_bytes()
        subtypes = re.findall(rb"/Subtype\s*/(Type3|TrueType|Type0|Type1|CIDFontType2)", data)
        assert subtypes, p.name
        assert b"Type3" not in subtypes, p.name
        assert b"/FontFile2" in data, p.name


def test_td_cox_has_its_forest_plot(run):
    res, out = run
    names = [n for n, _f in res.analyses["td_cox_hsct"].figures]
    assert names == ["td_cox_hsct"]
    fig = res.analyses["td_cox_hsct"].figures[0][1]
    assert any(a.get_label() == "forest" for a in fig.axes)
    assert (out / "figures" / "td_cox_hsct.png").is_file()


class _Outline(HTMLParser):
    """Headings, ids, links and the order of the report's blocks."""

    def __init__(self):
        super().__init__()
        self.events = []   # (tag, attrs) in document order
        self.ids, self.links = set(), []
        self._h3 = None
        self.h3_text = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.events.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])


def test_report_summary_contents_warnings_panel_sections(run):
    res, out = run
    html = (out / "report.html").read_text(encoding="utf-8")
    p = _Outline()
    p.feed(html)
    tags = [(t, a.get("id"), a.get("class")) for t, a in p.events]
    assert res.warnings  # this run has warnings (immortal time, separation)
    i_summary = next(i for i, (t, idd, _c) in enumerate(tags) if idd == "summary")
    i_toc = next(i for i, (t, _i, c) in enumerate(tags) if t == "nav")
    details = [i for i, (t, _i, c) in enumerate(tags) if t == "details"]
    i_first_h3 = next(i for i, (t, _i, _c) in enumerate(tags) if t == "h3")
    assert len(details) == 1                               # one panel
    assert i_summary < i_toc < details[0] < i_first_h3     # after the summary, before results
    assert "class='warn'" not in html                      # no loose warning boxes
    assert "RuntimeWarning" not in html
    for target in p.links:                                 # every contents link resolves
        assert target in p.ids, target
    for aid in res.analyses:
        assert f"a-{aid}" in p.ids and f"a-{aid}" in p.links, aid
    # every analysis section has content: a figure, a table or a stated reason
    blocks = re.split(r"<h3 id='a-", html.split("<h2>Analyses</h2>", 1)[1])[1:]
    assert len(blocks) == len(res.analyses)
    for b in blocks:
        aid = b.split("'", 1)[0]
        body = b.split("<h2 id='provenance'>")[0]
        assert ("<img" in body or "<table" in body or "Not estimable" in body), aid
        assert "produced no table or figure" not in body, aid
    # the warnings panel lists each message once
    panel = html[html.index("<details"):html.index("</details>")]
    items = re.findall(r"<li>(.*?)(?: <span class='where'>|</li>)", panel, flags=re.S)
    assert items and len(items) == len(set(items))
    n_raw = len(res.warnings)
    assert len(items) <= n_raw
    assert "This analysis compares" in panel  # per-analysis wording merged across analyses


def test_group_warnings_merges_identical_messages_and_keeps_data_warnings():
    w = ["[os] ImmortalTimeWarning: analysis 'os' compares groups by a later treatment",
         "[rfs] ImmortalTimeWarning: analysis 'rfs' compares groups by a later treatment",
         "[lm] SeparationWarning: coefficient of 'x' is infinite",
         "[lm] SeparationWarning: coefficient of 'x' is infinite",
         "[cox] not estimable: no events in group IC",
         "row 3: date of birth after relapse"]
    g = dict(group_warnings(w))
    assert g["Immortal-time bias risk"] == [
        ("This analysis compares groups by a later treatment", ["os", "rfs"])]
    assert g["Infinite estimates (monotone likelihood / separation)"] == [
        ("Coefficient of 'x' is infinite", ["lm"])]
    assert g["Analyses that could not be estimated"] == [("No events in group IC", ["cox"])]
    assert g["Data"] == [("row 3: date of birth after relapse", [])]


def test_report_marks_not_estimable_sections_and_escapes():
    sec = [{"id": "cox_x", "title": "Cox <x>", "kind": "cox", "choices": "", "tables": [],
            "figures": [], "notes": []},
           {"id": "counts", "title": "Counts", "kind": "counts", "choices": "", "tables": [],
            "figures": [], "notes": []}]
    html = build_report(title="T", synthetic=False, sections=sec, provenance={}, attrition=None,
                        published=None, warnings=["[cox_x] not estimable: one group only"])
    assert "Cox &lt;x&gt;" in html and "Cox <x>" not in html
    body = html.split("<h3 id='a-cox_x'>", 1)[1].split("<h3", 1)[0]
    assert "Not estimable:</strong> one group only" in body
    counts = html.split("<h3 id='a-counts'>", 1)[1]
    assert "produced no table or figure" in counts  # said, not left blank


def test_numpy_warnings_in_words():
    t = numerical_warning_text("divide by zero encountered in log")
    assert t.startswith("While computing this analysis a division by zero occurred")
    assert t.endswith("(numpy: divide by zero encountered in log)")
    assert "undefined value" in numerical_warning_text("invalid value encountered in divide")
    assert "numerical problem" in numerical_warning_text("something new")


def test_report_figures_share_one_scale(run):
    _, out = run
    html = (out / "report.html").read_text(encoding="utf-8")
    widths = {alt: int(w) for alt, w in re.findall(r"<img alt='([^']+)' style='width:(\d+)px'", html)}
    from PIL import Image
    for alt, w in widths.items():
        with Image.open(out / "figures" / f"{alt}.png") as im:
            assert w == round(im.width / im.info["dpi"][0] * 96 * 1.4), alt
    # a one-row forest plot is narrower on the page than a double-column KM plot
    assert widths["td_cox_hsct"] < widths["os_by_consolidation"]
    assert len(widths) == len(list((out / "figures").glob("*.png")))


def test_summary_counts_read_as_words():
    sec = [{"id": "km1", "title": "KM", "kind": "km", "choices": "",
            "tables": [("t", pd.DataFrame({"a": [1]}))], "figures": [], "notes": []}]
    html = build_report(title="T", synthetic=False, sections=sec, provenance={}, attrition=None,
                        published=None, warnings=["[km1] StatisticalWarning: few patients"])
    summary = html.split("<p id='summary'>", 1)[1].split("</p>", 1)[0]
    assert "1 analysis (0 figures, 1 table)" in summary          # not "1 analyses", "1 tables"
    assert ">1 warning</a>" in summary
    two = build_report(title="T", synthetic=False, sections=sec * 2, provenance={},
                       attrition=None, published=None, warnings=[])
    assert "2 analyses (0 figures, 2 tables); no warnings" in two


def test_readme_counts_of_the_main_job_match_a_run(run):
    """The README's sentence on the main job names how many analyses, figures and tables
    a run writes; those counts are read from a run here, so the sentence cannot go stale."""
    res, out = run
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    m = re.search(r"replicate min2022`, (\d+) analyses, (\d+) figures as PNG \+ PDF at 300 "
                  r"dpi, (\d+) tables in CSV, DOCX and TeX\)", text)
    assert m, "README no longer states the main job's counts in the expected sentence"
    n_an, n_fig, n_tab = map(int, m.groups())
    figs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert sorted(p.stem for p in (out / "figures").glob("*.pdf")) == figs
    stems = {fmt: {p.stem for p in (out / "tables").glob(f"*.{fmt}")}
             for fmt in ("csv", "docx", "tex")}
    in_all = stems["csv"] & stems["docx"] & stems["tex"]
    assert (n_an, n_fig, n_tab) == (len(res.analyses), len(figs), len(in_all))

"""Audit 13, part C: the replication report.

* F3: the published-vs-reproduced counts and the plan's ``counts`` tables apply each
  patient's data cut-off as the endpoints do (an event after it is not counted, and the
  patient is named), so one table no longer shows 5 second relapses beside a cumulative
  incidence built on 4;
* F7: rows forced by the generator's fixed counts (the 50.7 % / 41.7 % incidences and the
  mCR2 comparison) are labelled by construction; the notes that say why are printed in the
  report table, the manuscript and the terminal, and the terminal counts them apart;
* F8: the published-vs-reproduced table is written in every table format and is Table 1 of
  the manuscript, with its explanation; the report's summary counts it.
"""

import contextlib
import io
import json
import re
from pathlib import Path

import docx
import numpy as np
import pandas as pd
import pytest

from aplcohort.cli import main
from aplcohort.cohort import from_dataframe
from aplcohort.cohort.cutoff import as_of_cutoff
from aplcohort.plan import min2022 as facts
from aplcohort.plan.kinds import AFTER_CUTOFF_COLUMN
from aplcohort.synthetic import min2022

SUB14 = "reinduction_regimen == 'ATO-based' and response == 'mCR2'"


def _institutional():
    """The seed-2022 replica as an institutional cohort, with two patients whose data
    cut-off comes before events recorded for them (as KH-018 of the audit):

    * P-018 (auto HSCT, ATO-reinduced, mCR2): cut-off 2005-12-31, before the second
      relapse (2006-01-14) and its allo-HSCT salvage (2006-05-01);
    * P-048 (auto HSCT, mCR2): cut-off 2020-01-01, after the second relapse (2019-11-03)
      and ATO salvage (2019-11-06), before the death of progression (2020-04-03);
    * P-027 (ATO-based, mCR2, allo-HSCT salvage, CR3 2012-01-28): cut-off 2012-06-30, before
      the transplant-related death (2012-08-02): counted alive, which it is only at the cut-off.
    """
    d = min2022.generate(2022).drop(columns=["synthetic"])
    d["patient_id"] = d["patient_id"].str.replace("SYN-", "P-", regex=False)
    d = d.set_index("patient_id", drop=False)
    assert d.loc["P-018", "relapse2_date"] == "2006-01-14"
    assert d.loc["P-018", "salvage2_modality"] == "allo HSCT"
    assert d.loc["P-048", "death_date"] == "2020-04-03"
    assert d.loc["P-048", "death_cause"] == "disease progression"
    assert d.loc["P-027", "death_date"] == "2012-08-02"
    assert d.loc["P-027", "salvage2_modality"] == "allo HSCT"
    d.loc["P-018", "data_cutoff_date"] = "2005-12-31"
    d.loc["P-027", "data_cutoff_date"] = "2012-06-30"
    d.loc["P-048", "data_cutoff_date"] = "2020-01-01"
    return d.reset_index(drop=True)


@pytest.fixture(scope="module")
def inst(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inst13c")
    csv = tmp / "cohort.csv"
    _institutional().to_csv(csv, index=False)
    out = tmp / "out"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):  # the path users take: aplcohort run min2022 --data
        assert main(["run", "min2022", "--data", str(csv), "--out", str(out)]) == 0
    return buf.getvalue(), out


def _pub(out):
    return pd.read_csv(out / "tables" / "published_vs_reproduced.csv").set_index("id")


# ---------------------------------------------------------------------------- F3


def test_cutoff_rule_is_the_endpoints_rule():
    """Blanked after the cut-off, kept on the cut-off day, no cut-off = none."""
    d = pd.DataFrame({
        "patient_id": ["A", "B", "C"],
        "relapse2_date": pd.to_datetime(["2006-01-14", "2005-12-31", "2006-01-14"]),
        "salvage2_modality": ["allo HSCT", "ATO-based", "allo HSCT"],
        "salvage2_start_date": pd.to_datetime(["2006-05-01", "2006-02-01", "2006-05-01"]),
        "status_after_salvage2": ["mCR", "active disease", "mCR"],
        "death_date": pd.to_datetime([None, "2006-03-01", None]),
        "death_cause": [None, "disease progression", None],
        "vital_status": ["alive", "dead", "alive"],
        "data_cutoff_date": pd.to_datetime(["2005-12-31", "2005-12-31", None]),
    })
    cut, after = as_of_cutoff(d)
    assert after == {"A": ["second relapse"], "B": ["salvage after the second relapse", "death"]}
    assert cut["relapse2_date"].isna().tolist() == [True, False, False]  # on the day: counts
    # a blanked text cell is missing (None under pandas 2, NaN in pandas 3's string dtype)
    assert [v if isinstance(v, str) else None for v in cut["salvage2_modality"]] == \
        [None, None, "allo HSCT"]
    assert cut["salvage2_modality"].isna().tolist() == [True, True, False]
    assert cut["vital_status"].tolist() == ["alive", "alive", "alive"]
    assert cut["death_cause"].isna().all()
    # the endpoints treat these patients the same way
    from aplcohort.cohort.endpoints import endpoint_arrays
    day = lambda s: (pd.to_datetime(s) - pd.Timestamp("1970-01-01")).dt.days.astype(float)  # noqa: E731
    t, e, _ = endpoint_arrays("CIR", np.zeros(3) + day(pd.Series(["2005-01-01"]))[0],
                              day(pd.Series(["2007-01-01"] * 3)), death=day(d["death_date"]),
                              relapse=day(d["relapse2_date"]), cutoff=day(d["data_cutoff_date"]))
    assert e.tolist() == [0, 1, 1]


def test_fact_counts_apply_the_cutoff_and_name_the_patient(inst):
    _, out = inst
    pub = _pub(out)
    # the second-relapse count and the CIF row of the same group agree (4 and 4 in 12)
    assert pub.loc["n_relapse2_auto", "reproduced_estimate"] == 4
    m = re.search(r"\((\d+) relapses in (\d+)\)", pub.loc["cir_auto", "reproduced"])
    assert m and (int(m.group(1)), int(m.group(2))) == (4, 12)
    # P-018's salvage after the cut-off is not counted; P-048's death after it is not either
    assert pub.loc["n_salvage_allo", "reproduced_estimate"] == 6
    # of whom alive: 6 recorded, P-018 not counted, P-027 alive at the cut-off
    assert pub.loc["n_salvage_allo_alive", "reproduced_estimate"] == 6
    assert "P-018 (second relapse); P-027 (death)" in pub.loc["n_salvage_allo_alive", "note"]
    assert pub.loc["n_salvage_ato", "reproduced_estimate"] == 7
    assert pub.loc["n_salvage_ato_dead", "reproduced_estimate"] == 4
    for fid in ("n_relapse2_auto", "n_salvage_allo", "n_salvage_allo_alive"):
        assert "P-018 (second relapse)" in pub.loc[fid, "note"], fid
        assert "events dated after the patient's data cut-off are not counted" in pub.loc[fid, "note"]
    assert "P-048 (death)" in pub.loc["n_salvage_ato_dead", "note"]
    # rows the cut-off does not touch name nobody
    assert "not counted" not in str(pub.loc["n_relapse2_ato", "note"])
    assert "not counted" not in str(pub.loc["n_salvage_ato", "note"])
    # and in the terminal summary, under the row
    stdout = inst[0]
    assert "published vs reproduced: " in stdout
    assert "        note: events dated after the patient's data cut-off are not counted (the " \
           "endpoints ignore them): P-018 (second relapse)" in stdout


def test_counts_tables_apply_the_cutoff(inst):
    _, out = inst
    doc = json.loads((out / "results.json").read_text())
    n_loaded = len(_institutional())
    # every second relapse: P-018's is after the cut-off, so P-018 leaves with the reason
    a = doc["analyses"]["salvage_after_second_relapse"]
    cut = [e for e in a["exclusions"] if "data cut-off" in e["reason"]]
    assert [e["ids"] for e in cut] == [["P-018"]]
    assert "second relapse" in cut[0]["reason"]
    assert a["n"] + sum(e["n"] for e in a["exclusions"]) == n_loaded
    t = pd.read_csv(out / "tables" / "salvage_after_second_relapse__counts.csv", keep_default_na=False)
    assert int(t["n"].sum()) == a["n"]
    # P-048 is counted alive (death after the cut-off), with active disease, and named
    row = t[(t.salvage2_modality == "ATO-based") & (t[AFTER_CUTOFF_COLUMN] != "")]
    assert row[["vital_status", "status_after_salvage2"]].values.tolist() == [["alive", "active disease"]]
    assert row[AFTER_CUTOFF_COLUMN].tolist() == ["P-048 (death)"]
    row = t[(t.salvage2_modality == "allo HSCT") & (t[AFTER_CUTOFF_COLUMN] != "")]
    assert row[["vital_status", "status_after_salvage2"]].values.tolist() == [["alive", "mCR"]]
    assert row[AFTER_CUTOFF_COLUMN].tolist() == ["P-027 (death)"]
    # the abstract's 9 + 5 subgroup: P-018 stays, counted without a second relapse
    t2 = pd.read_csv(out / "tables" / "salvage_after_second_relapse_ato_mcr2__counts.csv",
                     keep_default_na=False)
    auto = t2[t2.postremission_modality == "auto HSCT"]
    assert int(auto.loc[auto.salvage2_modality != "(missing)", "n"].sum()) == 4  # as the CIF row
    named = auto[auto[AFTER_CUTOFF_COLUMN] != ""]
    assert named[["salvage2_modality", "vital_status"]].values.tolist() == [
        ["(missing)", "alive"], ["ATO-based", "alive"]]
    assert sorted(named[AFTER_CUTOFF_COLUMN]) == ["P-018 (second relapse)", "P-048 (death)"]
    # said in the report beside the table (caption and note), not only in the CSV
    html = (out / "report.html").read_text()
    assert "events after a patient&#x27;s data cut-off not counted: P-018 (second relapse)" in html


def test_counts_kind_on_a_user_plan(tmp_path):
    """A user's counts analysis (plan file through the CLI) follows the cut-off too."""
    csv = tmp_path / "c.csv"
    _institutional().to_csv(csv, index=False)
    plan = tmp_path / "p.yaml"
    plan.write_text(
        "plan: counts13c\ndata: {source: c.csv}\nanalyses:\n"
        "  - id: deaths\n    kind: counts\n    where: \"postremission_modality == 'auto HSCT'\"\n"
        "    columns: [vital_status, death_cause]\n", encoding="utf-8")
    assert main(["run", str(plan), "--data", str(csv), "--out", str(tmp_path / "o")]) == 0
    t = pd.read_csv(tmp_path / "o" / "tables" / "deaths__counts.csv", keep_default_na=False)
    d = _institutional()
    auto = d[d.postremission_modality == "auto HSCT"]
    dead_by_cutoff = int(auto.death_date.notna().sum()) - 1  # P-048 died after the cut-off
    assert int(t.loc[t.vital_status == "dead", "n"].sum()) == dead_by_cutoff
    assert t.loc[t[AFTER_CUTOFF_COLUMN] != "", AFTER_CUTOFF_COLUMN].tolist() == ["P-048 (death)"]


# ---------------------------------------------------------------------------- F7


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep13c") / "rep"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["replicate", "min2022", "--out", str(out)]) == 0
    return out, buf.getvalue()


FORCED = ("mcr2", "cir_ato", "cir_auto")


def test_rows_forced_by_fixed_counts_are_by_construction(replica):
    out, _ = replica
    pub = _pub(out)
    for fid in FORCED:
        assert pub.loc[fid, "kind"] == "by construction", fid
        assert pub.loc[fid, "verdict"] == "agrees by construction", fid
        assert not pub.loc[fid, "holds"], fid
        assert "forced by counts the generator fixes" in pub.loc[fid, "reproduced"]
        assert pub.loc[fid, "note"].endswith(facts.REPLICA_NOTES[fid])
    # the fixed counts behind the label: 9/18 and 5/12 second relapses
    assert "(9 relapses in 18)" in pub.loc["cir_ato", "reproduced"]
    assert "(5 relapses in 12)" in pub.loc["cir_auto", "reproduced"]
    assert "ATO 30/30" in pub.loc["mcr2", "reproduced"]


def test_what_the_notes_claim_holds():
    """The notes say the mCR2 row fails only when >= 9 of 11 IC patients reach mCR2, and
    that the incidences are at least 9/18 and 5/12 whatever the seed."""
    from aplcohort.stats.grouptests import fisher_exact
    assert fisher_exact([[30, 0], [8, 3]]).p < facts.ALPHA <= fisher_exact([[30, 0], [9, 2]]).p
    assert min2022.COUNTS["relapse2_ato_group_ato_mcr2"] == 9 and min2022.COUNTS["post_ato_ato_mcr2"] == 18
    assert min2022.COUNTS["relapse2_auto_group_ato_mcr2"] == 5 and min2022.COUNTS["post_auto"] == 12
    for seed in (3, 11):
        t = facts.published_vs_reproduced(from_dataframe(min2022.generate(seed))).set_index("id")
        assert t.loc["cir_ato", "reproduced_estimate"] >= 9 / 18 - 1e-12
        assert t.loc["cir_auto", "reproduced_estimate"] >= 5 / 12 - 1e-12
        assert "ATO 30/30" in t.loc["mcr2", "reproduced"]


def test_notes_are_printed_in_the_report_and_the_terminal(replica):
    out, stdout = replica
    pub = _pub(out)
    html = (out / "report.html").read_text()
    sec = html.split("<h2>Published vs reproduced</h2>", 1)[1].split("</table>", 1)[0]
    assert "title=" not in sec                       # no longer a tooltip only
    assert "<th>note</th>" in sec
    import html as _html
    for fid in FORCED:
        assert f"<td class='note'>{_html.escape(pub.loc[fid, 'note'])}</td>" in sec
    # terminal: the count separates what holds from what agrees by construction, and says why
    vc = pub["verdict"].value_counts()
    eq, forced = int(vc["equal by construction"]), int(vc["agrees by construction"])
    assert forced == 3
    line = next(s for s in stdout.splitlines() if s.startswith("published vs reproduced:"))
    assert line.startswith(f"published vs reproduced: {int(pub['holds'].sum())}/{len(pub)} facts hold; "
                           f"{eq + forced} more agree by construction, not findings "
                           f"({eq} equal counts, {forced} forced by those counts)")
    for fid in FORCED:
        assert f"        note: {facts.REPLICA_NOTES[fid]}" in stdout


def test_institutional_cohort_has_no_construction_wording(inst):
    _, out = inst
    pub = _pub(out)
    assert (pub["kind"] == "comparison").all()
    assert not pub["verdict"].str.contains("construction").any()
    assert not pub["note"].fillna("").str.contains("generator").any()


# ---------------------------------------------------------------------------- F8


def _manuscript_tables(path):
    d = docx.Document(str(path))
    caps = [p.text for p in d.paragraphs if re.match(r"^Table \d+\. ", p.text)]
    return d, caps


def test_published_table_in_every_format_and_first_in_the_manuscript(replica):
    out, _ = replica
    for ext in ("csv", "docx", "tex"):
        assert (out / "tables" / f"published_vs_reproduced.{ext}").is_file(), ext
    tex = (out / "tables" / "tables.tex").read_text()
    assert "published_vs_reproduced" in tex
    d, caps = _manuscript_tables(out / "manuscript.docx")
    assert caps[0] == f"Table 1. {facts.FACTS_CAPTION}"
    assert [int(c.split()[1][:-1]) for c in caps] == list(range(1, len(caps) + 1))
    pub = _pub(out)
    t1 = d.tables[0]
    assert len(t1.rows) == len(pub) + 1
    head = [c.text for c in t1.rows[0].cells]
    assert head[-2:] == ["Verdict", "Note"] and "Kind" in head
    cells = [c.text for r in t1.rows for c in r.cells]
    assert "agrees by construction" in cells
    assert "[model-driven; agrees in 93.0% of 200 seeds]" in " ".join(cells)  # the share, in "this run"
    body = " ".join(p.text for p in d.paragraphs)
    # a row's note is a numbered footnote under the table, each distinct note once, its
    # marker in the Note column (as a column of the eight-column page, notes ran to 20 lines)
    note_col = [r.cells[-1].text for r in t1.rows[1:]]
    marks = {m for m in note_col if m}
    assert len(marks) == pub["note"].dropna().replace("", np.nan).dropna().nunique() >= 3
    paras = [p.text for p in d.paragraphs]
    start = paras.index(caps[0])
    paras = paras[start:paras.index(caps[1])]   # Table 1's caption to the next caption
    for m in marks:
        assert sum(p.startswith(m + " ") for p in paras) == 1, m
    cir_ato = [p for p in paras if facts.REPLICA_NOTES["cir_ato"] in p]
    assert len(cir_ato) == 1 and cir_ato[0].split(" ")[0] in marks
    # no blank interval without its reason: a dash with the marker of a footnote saying why
    ci_col = head.index("95 % CI")
    for r, (_, row) in zip(t1.rows[1:], pub.iterrows()):
        cell = r.cells[ci_col].text
        assert cell, row["id"]
        if not isinstance(row["ci"], str) or not row["ci"]:
            m = cell[1:]
            why = [p for p in paras if p.startswith(m + " ")]
            assert cell[0] == "\u2013" and len(why) == 1, (row["id"], cell)
            assert ("a count: no confidence interval" in why[0]) == (row["test"] == "count")
    assert "'by construction' rows are decided by counts the generator fixes" in body  # explanation
    # the report counts it apart from the analyses' tables
    html = (out / "report.html").read_text()
    summary = html.split("<p id='summary'>", 1)[1].split("</p>", 1)[0]
    assert "and the <a href='#published'>published-vs-reproduced table</a>" in summary
    n_tab = int(re.search(r"(\d+) tables\)", summary).group(1))
    listings = re.search(r"Per-patient listings are not included here \(tables/ only\): ([^.]*)\.",
                         body).group(1).split(", ")
    assert len(caps) == n_tab - len(listings) + 1


def test_institutional_manuscript_has_the_comparison_table(inst, tmp_path):
    _, out = inst
    for ext in ("csv", "docx", "tex"):
        assert (out / "tables" / f"published_vs_reproduced.{ext}").is_file(), ext
    d, caps = _manuscript_tables(out / "manuscript.docx")
    assert caps[0] == f"Table 1. {facts.FACTS_CAPTION}"
    cells = " ".join(c.text for r in d.tables[0].rows for c in r.cells)
    paras = [p.text for p in d.paragraphs]
    under = " ".join(paras[paras.index(caps[0]):paras.index(caps[1])])  # its footnotes
    assert "P-018 (second relapse)" in under and "P-018" not in cells  # a note: a footnote
    assert "seeds" not in cells  # no seeds on real data

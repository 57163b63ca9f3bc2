"""Audit 12, part F: figures with long labels (F3), free-text plan fields (F4), CSV
formula escaping of sweep.csv (F6), terminal escapes (F7), --scheduler (F9), and the
smaller points of F13 (seeds, ``validate --analysis``, glyph warnings, control
characters in report.html).

Hostile inputs are built small, in ``tmp_path``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main


def _cohort(tmp_path, label_b="B", n=40):
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(n)],
                       "arm": np.where(np.arange(n) % 2 == 0, "A", label_b),
                       "t": np.round(rng.exponential(10, n), 1) + 0.1,
                       "e": rng.integers(0, 2, n)})
    data = tmp_path / "data.csv"
    df.to_csv(data, index=False)
    return data, df


def _plan(tmp_path, data, analyses, **extra):
    plan = {"plan": "p", "data": {"source": str(data)},
            "endpoints": {"os": {"time": "t", "event": "e", "unit": "months"}},
            "output": {"formats": ["png"], "tables": ["csv", "html"]},
            "analyses": analyses}
    plan.update(extra)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _png_size(path):
    import struct
    head = path.read_bytes()[:24]
    return struct.unpack(">II", head[16:24])


# --- F3: long labels -------------------------------------------------------------------

def _run_km_logrank(tmp_path, data, capsys):
    """``aplcohort run`` of a km + logrank plan by ``arm``: (output folder, captured)."""
    plan = _plan(tmp_path, data, [
        {"id": "km", "kind": "km", "endpoint": "os", "group": "arm"},
        {"id": "lr", "kind": "logrank", "endpoint": "os", "group": "arm"}])
    out = tmp_path / "out"
    rc = main(["run", str(plan), "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    return out, cap


def test_f3_long_group_label_bounded_figure_full_label_in_tables(tmp_path, capsys):
    long = "L" * 3000
    data, _ = _cohort(tmp_path, label_b=long)
    out, cap = _run_km_logrank(tmp_path, data, capsys)
    w, h = _png_size(out / "figures" / "km.png")
    # 3000 characters drawn were ~100,000 px wide; the short label gives a normal figure
    assert w < 4000 and h < 4000, (w, h)
    # the full label stays in the tables
    assert any(long in p.read_text(encoding="utf-8") for p in (out / "tables").glob("*.csv"))
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert any("FigureTextWarning" in w and "shortened" in w for w in doc["warnings"])
    assert "Glyph" not in cap.err


def test_f3_shorten_text_and_every_figure_text():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aplcohort.errors import FigureTextWarning
    from aplcohort.plots.style import (LABEL_MAX_CHARS, TEXT_MAX_LINES, limit_figure_texts,
                                       shorten_text)
    assert shorten_text("x" * 500).endswith("\u2026") and len(shorten_text("x" * 500)) == 80
    assert shorten_text("\n".join(["a"] * 100)).count("\n") == TEXT_MAX_LINES - 1
    fig, ax = plt.subplots()
    ax.plot([0, 1], label="M" * 2000)
    ax.legend()
    ax.set_yticks([0, 1])
    ax.set_yticklabels(["T" * 1000, "short"])
    ax.set_xlabel("X" * 1000)
    ax.set_title("Z" * 1000)
    ax.text(0.5, 0.5, "Q" * 1000)
    with pytest.warns(FigureTextWarning, match="shortened"):
        limit_figure_texts(fig)
    fig.canvas.draw()
    texts = [ax.get_legend().texts[0].get_text(), ax.xaxis.label.get_text(),
             ax.title.get_text(), ax.texts[0].get_text(),
             *(t.get_text() for t in ax.get_yticklabels())]
    assert "short" in texts
    assert all(len(t) <= LABEL_MAX_CHARS for t in texts), [len(t) for t in texts]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert limit_figure_texts(fig) == []  # nothing left to change... and said once
    plt.close(fig)


def test_f3_flow_box_with_a_huge_reason_stays_bounded():
    from aplcohort.plots.flow import _wrap
    from aplcohort.plots.style import TEXT_MAX_LINES
    lines = _wrap("reason " * 3000, 200, 7.5)
    assert len(lines) == TEXT_MAX_LINES and lines[-1].endswith("\u2026")
    word = _wrap("X" * 3000, 200, 7.5)   # one word wider than the box: cut into pieces
    assert len(word) == TEXT_MAX_LINES and max(map(len, word)) < 100
    assert _wrap("Excluded: not APL (n = 4)", 200, 7.5) == ["Excluded: not APL (n = 4)"]


def test_f3_figure_too_large_is_refused_before_drawing(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aplcohort.plots.export import FigureTooLargeError, save_figure
    fig = plt.figure(figsize=(500, 3))
    with pytest.raises(FigureTooLargeError, match="pixels"):
        save_figure(fig, tmp_path / "big", formats=("png",), dpi=300)
    assert not list(tmp_path.iterdir())
    plt.close(fig)


def test_f3_one_figure_failing_is_confined_to_its_analysis(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aplcohort.plan.runner import run_plan
    from aplcohort.plan.write import write_outputs
    data, _ = _cohort(tmp_path)
    plan = _plan(tmp_path, data, [
        {"id": "km", "kind": "km", "endpoint": "os", "group": "arm"},
        {"id": "km2", "kind": "km", "endpoint": "os", "group": "arm"},
        {"id": "lr", "kind": "logrank", "endpoint": "os", "group": "arm"}])
    res = run_plan(plan)
    # a figure drawn far too large (as a 5000-character label made it before)
    big = plt.figure(figsize=(700, 3))
    name = res.analyses["km2"].figures[0][0]
    res.analyses["km2"].figures = [(name, big)]
    out = tmp_path / "out"
    write_outputs(res, out)
    figs = sorted(p.name for p in (out / "figures").iterdir())
    assert "km.png" in figs and not any(f.startswith("km2") for f in figs), figs
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["analyses"]["km2"]["status"] == "not estimable"
    assert "could not be saved" in doc["analyses"]["km2"]["reason"]
    assert "km2" in doc["not_estimable"] and "km" not in doc["not_estimable"]
    assert any(p.name.startswith("lr") for p in (out / "tables").iterdir())
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "could not be saved" in report


# --- F4: free-text plan fields -----------------------------------------------------------

@pytest.mark.parametrize("field, text, shown", [
    ("title", "title: 2020-01-01", "2020-01-01"),
    ("title", "title: 12", "12"),
    ("title", "title: !!set {a, b}", "{a, b}"),
    ("description", "description: 2020-01-01", "2020-01-01"),
    ("label", "    label: 2020-01-01", "2020-01-01"),
    ("reason", "  - {id: f1, keep: 't > 0', reason: 2020-01-01}", "2020-01-01"),
])
def test_f4_free_text_fields_must_be_text(tmp_path, capsys, field, text, shown):
    data, _ = _cohort(tmp_path)
    lines = ["plan: p", f"data: {{source: {data}}}", "endpoints:", "  os:",
             "    time: t", "    event: e"]
    if field == "label":
        lines.append(text)
    elif field != "reason":
        lines.insert(1, text)
    else:
        lines += ["filters:", text]
    lines += ["analyses:", "  - {id: km, kind: km, endpoint: os, group: arm}"]
    plan = tmp_path / "plan.yaml"
    plan.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["run", str(plan), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "must be text" in err and shown in err, err
    assert "datetime" not in err and "internal error" not in err, err
    assert not out.exists()


def test_f4_analysis_title_message_shows_the_value_as_written(tmp_path, capsys):
    data, _ = _cohort(tmp_path)
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"plan: p\ndata: {{source: {data}}}\nendpoints:\n  os: {{time: t, event: e}}\n"
                    "analyses:\n  - {id: km, kind: km, endpoint: os, title: 2020-01-01}\n",
                    encoding="utf-8")
    rc = main(["run", str(plan), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "2020-01-01" in err and "datetime.date" not in err, err


# --- F6: sweep.csv formula escaping --------------------------------------------------------

def test_f6_sweep_csv_escapes_formula_cells(tmp_path, capsys):
    sc = {"name": '=HYPERLINK("http://evil","x")', "n": 40,
          "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}},
          "events": {"death": {"model": "exponential", "median": 6,
                               "arms": {"B": {"median": 12}}}}}
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(sc), encoding="utf-8")
    out = tmp_path / "sw"
    rc = main(["sweep", str(path), "--n", "40", "--reps", "3", "--scheduler", "none",
               "--out", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    rows = (out / "sweep.csv").read_text(encoding="utf-8").splitlines()
    assert rows[1].startswith("\"'=HYPERLINK"), rows[1]


# --- F7 / F13: terminal escapes, report.html control characters -----------------------------

def test_f7_validate_prints_no_terminal_escapes(tmp_path, capsys):
    data, df = _cohort(tmp_path)
    df = pd.DataFrame({"patient_id": ["\x1b]0;PWNED\x07\x1b[2J\x1b[31mSYN-001", "SYN-002"],
                       "sex": ["Q", "M"]})
    df.to_csv(data, index=False)
    rc = main(["validate", str(data)])
    cap = capsys.readouterr()
    text = cap.out + cap.err
    assert rc == 2
    assert "SYN-001" in text
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;PWNED\\x07" in text


def test_f13_report_html_has_no_raw_control_characters(tmp_path, capsys):
    data, _ = _cohort(tmp_path, label_b="Bell\x07Esc\x1b[31m\x0bVT")
    out, cap = _run_km_logrank(tmp_path, data, capsys)
    bad = ("\x07", "\x1b", "\x0b")
    for p in [out / "report.html", *(out / "tables").glob("*.html")]:
        text = p.read_text(encoding="utf-8")
        assert not any(c in text for c in bad), p.name
    assert "Bell\u2407Esc\u241b" in (out / "report.html").read_text(encoding="utf-8")
    # matplotlib's glyph warnings are not printed; the run's warnings name the label once
    assert "Glyph" not in cap.err and "missing from font" not in cap.err, cap.err
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert sum("FigureTextWarning" in w for w in doc["warnings"]) == 1, doc["warnings"]


def test_f13_validate_unknown_analysis_one_line_before_reading(tmp_path, capsys):
    data, _ = _cohort(tmp_path)
    rc = main(["validate", str(data), "--analysis", "XYZ"])
    cap = capsys.readouterr()
    assert rc == 2
    assert cap.out == ""  # no validation report first
    assert "unknown analysis 'XYZ'" in cap.err
    names = "core, OS, EFS, RFS, LFS, CIR, NRM, ANC_recovery, PLT_recovery"
    assert names in cap.err
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    assert names in " ".join(capsys.readouterr().out.split())  # the same list as --help


# --- F9: --scheduler -----------------------------------------------------------------------

def test_f9_bad_scheduler_is_a_user_error(capsys):
    rc = main(["sweep", "admiral", "--n", "40", "--reps", "2", "--scheduler", "bogus",
               "--no-progress", "--out", "never-written"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "scheduler must be auto, local, none or a scheduler address" in err
    assert "internal error" not in err


# --- F13: seeds ----------------------------------------------------------------------------

def test_f13_huge_seed_in_plan_and_on_command_line(tmp_path, capsys):
    data, _ = _cohort(tmp_path)
    plan = tmp_path / "plan.yaml"
    body = (f"data: {{source: {data}}}\nendpoints:\n  os: {{time: t, event: e}}\n"
            "analyses:\n  - {id: km, kind: km, endpoint: os}\n")
    plan.write_text("seed: " + "9" * 5000 + "\n" + body, encoding="utf-8")
    rc = main(["run", str(plan), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "set_int_max_str_digits" not in err and "4,300 digits" in err, err
    plan.write_text("seed: " + "9" * 30 + "\n" + body, encoding="utf-8")
    rc = main(["run", str(plan), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "2**63 - 1" in err, err
    with pytest.raises(SystemExit) as exc:
        main(["synth", "min2022", "--seed", "9" * 5000, "--out", str(tmp_path / "s")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "2**63 - 1" in err and len(err) < 1000, err


def test_f13_seed_bounded_in_the_api():
    from aplcohort._checks import MAX_SEED, check_seed
    from aplcohort.errors import InputError
    assert check_seed(MAX_SEED) == MAX_SEED
    with pytest.raises(InputError, match="2\\*\\*63 - 1"):
        check_seed(MAX_SEED + 1)
    from aplcohort.batch.power import power_curve
    sc = {"name": "toy", "n": 40, "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}},
          "events": {"death": {"model": "exponential", "median": 6}}}
    with pytest.raises(InputError, match="2\\*\\*63 - 1"):
        power_curve(sc, [40], reps=2, seed=2**70)


def test_f4_presentation_labels_must_be_text():
    from aplcohort.errors import PlanError
    from aplcohort.plan.spec import validate_plan
    base = {"data": {"source": "x.csv"}, "endpoints": {"os": {"time": "t", "event": "e"}},
            "analyses": [{"id": "km", "kind": "km", "endpoint": "os", "group": "arm"}]}
    import datetime
    for labels, where in [({"arm": {"label": 12}}, "labels.arm.label"),
                          ({"arm": {"levels": {"B": datetime.date(2020, 1, 1)}}},
                           "labels.arm.levels.B")]:
        with pytest.raises(PlanError) as exc:
            validate_plan({**base, "labels": labels})
        assert where in str(exc.value) and "must be text" in str(exc.value)
        assert "datetime" not in str(exc.value)

"""JournalTable exporters: CSV, HTML, LaTeX, Word, checked by reading them back."""

import docx
import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.tables.export import JournalTable, latex_escape, save_table
from aplcohort.tables.format import (decimals_for, format_ci, format_mean_sd, format_median_iqr,
                                     format_n_pct, format_num, format_p, format_pct_ci)


def table():
    data = pd.DataFrame({"Characteristic": ["Sex, n (%)", "F", "Age, median [IQR]"],
                         "ATO (n = 4)": ["", "1 (25.0)", "40.5 [32.8\u201348.0]"],
                         "p": ["<0.001", "", "0.229"]})
    return JournalTable("Table 1. Baseline & more", data, pd.DataFrame({"x": [1]}),
                        indent=(0, 1, 0), footnotes=("p: Fisher's exact test; 5% level.",),
                        spans=(("Reinduction", 1, 1),))


def test_format_functions():
    # default: "< 0.001", 2 significant digits
    assert [format_p(p) for p in (0.0001, 0.001, 0.0499, 0.05, 0.878, 0.99951, float("nan"))] == \
        ["< 0.001", "0.0010", "0.050", "0.050", "0.88", "> 0.99", "NA"]
    # fixed decimals on request (figure annotations)
    assert [format_p(p, digits=3) for p in (0.0001, 0.0499, 0.99951)] == \
        ["< 0.001", "0.050", "> 0.999"]
    assert format_p(0.00001, threshold=0.0001, digits=4) == "< 0.0001"
    with pytest.raises(ValueError):
        format_p(1.5)
    assert format_num(-0.04, 1) == "0.0"
    assert format_ci(0.6412, 0.4901, 0.8312) == "0.64 (0.49\u20130.83)"
    assert format_ci(25.1, 14.23, None, 1) == "25.1 (14.2\u2013NR)"
    assert format_n_pct(5, 12) == "5 (41.7)"
    assert format_pct_ci(0.417, 0.152, 0.723) == "41.7 (15.2\u201372.3)"
    assert format_median_iqr(54, 41.25, 63.5) == "54.0 [41.2\u201363.5]"
    assert format_mean_sd(10, 2.345) == "10.0 (2.3)"
    assert decimals_for([0.64, 1.2]) == 2 and decimals_for([12, 30]) == 1


def test_csv_html_latex(tmp_path):
    t = table()
    csv = t.to_csv(tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Characteristic,ATO (n = 4),p"
    assert lines[2] == "  F,1 (25.0),"
    assert csv.endswith('"p: Fisher\'s exact test; 5% level."\n')
    h = t.to_html()
    assert h == t._repr_html_()
    assert "<caption" in h and "Table 1. Baseline &amp; more" in h
    assert "&lt;0.001" in h and "padding:1px 6px 1px 20px" in h  # indented level row
    assert "colspan='1'" in h and ">Reinduction</th>" in h
    tex = t.to_latex()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "\\midrule" in tex
    assert "$<$0.001" in tex and "\\hspace*{1em}F" in tex and "32.8--48.0" in tex
    tex.encode("ascii")  # ASCII only
    assert "Baseline \\& more" in tex and "5\\% level" in tex
    assert latex_escape("a_b #1 ~") == "a\\_b \\#1 \\textasciitilde{}"


def test_docx_read_back(tmp_path):
    t = table()
    t.to_docx(tmp_path / "t.docx")
    d = docx.Document(str(tmp_path / "t.docx"))
    assert d.paragraphs[0].text == "Table 1. Baseline & more"
    tab = d.tables[0]
    cells = [[c.text for c in row.cells] for row in tab.rows]
    assert cells[0][1] == "Reinduction"  # spanning header row
    # "(n = 4)" with no-break spaces: never split over two lines
    assert cells[1] == ["Characteristic", "ATO (n\u00a0=\u00a04)", "p"]
    assert cells[2:] == [["Sex, n (%)", "", "<0.001"], ["F", "1 (25.0)", ""],
                         ["Age, median [IQR]", "40.5 [32.8\u201348.0]", "0.229"]]
    xml = tab.rows[-1].cells[0]._tc.xml
    assert 'w:bottom' in xml  # bottom rule of the journal table
    assert d.paragraphs[-1].text.startswith("p: Fisher")


def test_save_table_and_errors(tmp_path):
    paths = save_table(table(), tmp_path / "sub" / "t1")
    assert [p.name for p in paths] == ["t1.csv", "t1.html", "t1.tex", "t1.docx"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert (tmp_path / "sub" / "t1.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(InputError, match="unsupported table format"):
        save_table(table(), tmp_path / "x", ("pdf",))
    with pytest.raises(InputError, match="indent"):
        JournalTable("x", pd.DataFrame({"a": ["1"]}), pd.DataFrame(), indent=(0, 1))
    d = table().to_dict()
    assert d["kind"] == "table" and d["data"][1]["Characteristic"] == "F"


def _tbl_xml(path):
    import re
    import zipfile
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    return re.findall(r"<w:tbl>.*?</w:tbl>", xml, flags=re.S)


def test_docx_table_xml_shared_by_the_table_file_and_the_manuscript(tmp_path):
    """tables/<name>.docx and manuscript.docx hold the same table XML (built once); a table
    changed in place afterwards is written with its new cells, not from the cache."""
    from aplcohort.tables.manuscript import ManuscriptItem, write_manuscript
    t = table()
    t.to_docx(tmp_path / "a.docx")
    write_manuscript([ManuscriptItem("table", "Baseline", table=t)], tmp_path / "m.docx")
    own, in_ms = _tbl_xml(tmp_path / "a.docx"), _tbl_xml(tmp_path / "m.docx")
    assert len(own) == 1 and own == in_ms
    t.data.iloc[2, 1] = "99 [1\u20132]"
    t.to_docx(tmp_path / "b.docx")
    (new,) = _tbl_xml(tmp_path / "b.docx")
    assert "99 [1\u20132]" in new and "40.5" not in new and "40.5" in own[0]
    rows = docx.Document(str(tmp_path / "b.docx")).tables[0].rows
    cells = [[c.text for c in r.cells] for r in rows]
    assert cells[-1] == ["Age, median [IQR]", "99 [1\u20132]", "0.229"]


def test_docx_text_with_tabs_breaks_and_edge_spaces_reads_back(tmp_path):
    data = pd.DataFrame({"Item": ["  lead", "a\tb", "x\ny", "A & <B>"], "v": ["1", "", " ", "4"]})
    t = JournalTable("Cap\twith tab", data, pd.DataFrame(), footnotes=(" f ",),
                     spans=(("Both", 0, 1),))
    t.to_docx(tmp_path / "t.docx")
    d = docx.Document(str(tmp_path / "t.docx"))
    assert d.paragraphs[0].text == "Cap\twith tab"
    rows = [[c.text for c in r.cells] for r in d.tables[0].rows]
    assert rows[0] == ["Both", "Both"]  # one cell spanning both columns
    assert rows[2:] == [["  lead", "1"], ["a\tb", ""], ["x\ny", " "], ["A & <B>", "4"]]
    assert d.paragraphs[-1].text == " f "

"""Print the README's performance table from benchmarks/RESULTS.md (written by bench_public.py).

    python benchmarks/readme_table.py            # prints the table
    python benchmarks/readme_table.py --write    # replaces it in README.md between the markers

Seconds are aplcohort's public functions (named in the cell); the other columns are "tool
time / aplcohort time" measured in the same run on the same data (> 1: aplcohort is
faster); the floor column is floor time / aplcohort time. "target / met?" comes from the
"Targets" table of RESULTS.md, which bench_public.py computes from the measured ratios;
the growth-exponent targets follow the table.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
START, END = "<!-- perf-table:start -->", "<!-- perf-table:end -->"
PEERS = [("lifelines", "lifelines"), ("scikit-survival", "scikit-survival"), ("R ", "R survival/cmprsk"),
         ("floor", "floor (sort + cumsum)")]


def _sections(text: str) -> dict:
    """``{heading: [rows as lists of cells]}`` of the markdown tables under each ``## `` heading."""
    out, head = {}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            head = line[3:].strip()
            out.setdefault(head, [])
        elif line.startswith("| ") and not line.startswith("|---"):
            out.setdefault(head, []).append([c.strip() for c in line.strip().strip("|").split("|")])
    return out


def _rows(sec: dict, prefix: str):
    for head, rows in sec.items():
        if head.startswith(prefix) and rows:
            cols = rows[0]
            return [dict(zip(cols, r)) for r in rows[1:]]
    return []


def table(results: Path | None = None) -> str:
    text = (results or HERE / "RESULTS.md").read_text(encoding="utf-8")
    sec = _sections(text)
    timings = _rows(sec, "All timings")
    if not timings:  # RESULTS.md written before the "All timings" heading: one table, no heading
        timings = _rows({"All timings": sec.get("", [])}, "All timings")
    targets = _rows(sec, "Targets")
    rows, order = {}, []
    for t in timings:
        task, tool, sec_, ratio = (t.get("task", ""), t.get("tool", ""), t.get("seconds", ""),
                                   t.get("ratio (tool / aplcohort)", ""))
        if not task.startswith("n="):
            continue
        if task not in rows:
            rows[task] = {}
            order.append(task)
        if tool.startswith("aplcohort") and "internal" not in tool:
            rows[task]["aplcohort"] = f"{float(sec_):.3g} s ({tool.removeprefix('aplcohort ')})"
        elif tool.startswith("aplcohort"):
            rows[task]["internal"] = f"{float(ratio):.2f}×"
        for key, name in PEERS:
            if tool.startswith(key):
                rows[task][name] = f"{float(ratio):.2f}×"
    met = {}
    for t in targets:
        shown = f" ({t['measured']})" if "memory" in t["target"] else ""
        met.setdefault(t["task"], []).append(f"{t['target']}: **{t['met?']}**{shown}")
    head = ["task", "aplcohort (public API)"] + [n for _, n in PEERS] + ["target / met?"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in order:
        r = rows[t]
        out.append("| " + " | ".join([t, r.get("aplcohort", "")] + [r.get(n, "—") for _, n in PEERS]
                                     + ["; ".join(met.get(t, [])) or "—"]) + " |")
    growth = [t for t in targets if t["task"].startswith("growth:")]
    if growth:
        out += ["", "Growth exponents, 1e3 to 1e6 rows (target ≤ 1.1): " + "; ".join(
            f"`{g['task'].removeprefix('growth: ')}` {g['measured'].split(' (')[0]} "
            f"(**{g['met?']}**)" for g in growth) + "."]
    elif not targets:
        out += ["", "(targets: rerun `benchmarks/bench_public.py`; this RESULTS.md predates them)"]
    return "\n".join(out)


if __name__ == "__main__":
    tab = table()
    if "--write" in sys.argv:
        readme = HERE.parent / "README.md"
        text = readme.read_text(encoding="utf-8")
        i, j = text.index(START) + len(START), text.index(END)
        readme.write_text(text[:i] + "\n" + tab + "\n" + text[j:], encoding="utf-8")
    print(tab)

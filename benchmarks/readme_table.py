"""Print the README's performance table from benchmarks/RESULTS.md (written by bench_public.py).

    python benchmarks/readme_table.py            # prints the table
    python benchmarks/readme_table.py --write    # replaces it in README.md between the markers

Seconds are aplcohort's public functions; the other columns are "tool time / aplcohort time"
measured in the same run on the same data (> 1: aplcohort is faster).
"""

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
START, END = "<!-- perf-table:start -->", "<!-- perf-table:end -->"
PEERS = [("lifelines", "lifelines"), ("scikit-survival", "scikit-survival"), ("R ", "R survival/cmprsk"),
         ("floor", "floor (sort + cumsum)")]


def table() -> str:
    rows = {}
    order = []
    for line in (HERE / "RESULTS.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| (n=[^|]+?) \| ([^|]+?) \| ([0-9.e+-]+) \| ([0-9.]+) \|", line)
        if not m:
            continue
        task, tool, sec, ratio = m.groups()
        if task not in rows:
            rows[task] = {}
            order.append(task)
        if tool.startswith("aplcohort") and "internal" not in tool:
            rows[task]["aplcohort"] = f"{float(sec):.3g} s ({tool.removeprefix('aplcohort ')})"
        for key, name in PEERS:
            if tool.startswith(key):
                rows[task][name] = f"{float(ratio):.2f}×"
    head = ["task", "aplcohort (public API)"] + [n for _, n in PEERS]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in order:
        r = rows[t]
        out.append("| " + " | ".join([t, r.get("aplcohort", "")] + [r.get(n, "—") for _, n in PEERS])
                   + " |")
    return "\n".join(out)


if __name__ == "__main__":
    tab = table()
    if "--write" in sys.argv:
        readme = HERE.parent / "README.md"
        text = readme.read_text(encoding="utf-8")
        i, j = text.index(START) + len(START), text.index(END)
        readme.write_text(text[:i] + "\n" + tab + "\n" + text[j:], encoding="utf-8")
    print(tab)

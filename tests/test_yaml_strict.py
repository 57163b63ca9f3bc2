"""Reading plans, mappings and scenarios (aplcohort/_yaml.py): strict and safe.

Plans come from other people: a key given twice, an alias bomb, a self-referring
document, a value the constructors reject or a binary value is a readable error (exit 2
on the command line), never "the last key wins", a hang or an internal error."""

from pathlib import Path

import pytest
import yaml

from aplcohort import _yaml
from aplcohort.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"


def test_every_bundled_yaml_reads_as_yaml_safe_load_reads_it():
    files = sorted((ROOT / "aplcohort").rglob("*.yaml"))
    assert len(files) >= 10
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert _yaml.safe_load(text) == yaml.safe_load(text), f.name


def test_a_key_given_twice_is_an_error_naming_both_lines():
    with pytest.raises(yaml.YAMLError, match=r"found the key 'group' twice \(first on line 2\)"):
        _yaml.safe_load("id: os\ngroup: a\nkind: km\ngroup: b\n")
    with pytest.raises(yaml.YAMLError, match="twice"):
        _yaml.safe_load("analyses:\n  - {id: x, kind: km, id: y}\n")
    # a merge key's values are overridden by explicit keys (YAML's rule), not duplicates
    assert _yaml.safe_load("base: &b {a: 1, c: 3}\nx:\n  <<: *b\n  a: 2\n")["x"] == {"a": 2, "c": 3}
    assert _yaml.safe_load("a: 1\nb: {a: 2}\n") == {"a": 1, "b": {"a": 2}}  # other mappings


def test_alias_bomb_and_self_reference_are_refused_at_once():
    lol = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lol.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(yaml.YAMLError, match="more than 1,000,000 values"):
        _yaml.safe_load("\n".join(lol) + "\n")   # 1e9 values if expanded: refused first
    with pytest.raises(yaml.YAMLError, match="refers to itself"):
        _yaml.safe_load("x: &x [1, *x]\n")
    # shared aliases below the limit are fine
    assert _yaml.safe_load("a: &a [1, 2]\nb: [*a, *a]\n")["b"] == [[1, 2], [1, 2]]


@pytest.mark.parametrize("text, match", [
    ("seed: 2022-13-45\n", "month must be in 1..12"),
    ("d: !!timestamp 2022-02-30\n", "day is out of range"),
    ("n: " + "9" * 5000 + "\n", "more than 4,300 digits"),
    ("title: !!binary aGVsbG8=\n", "binary values"),
    ("title: !!binary '@@@'\n", "binary values"),
    ("plan: !!python/object:os.system {}\n", "could not determine a constructor"),
])
def test_values_the_constructors_reject_are_yaml_errors(text, match):
    with pytest.raises(yaml.YAMLError, match=match):
        _yaml.safe_load(text)


def test_syntax_errors_quote_the_line_with_a_caret():
    with pytest.raises(yaml.YAMLError) as e:
        _yaml.safe_load("plan: t\ndata:\n\tsource: x.csv\n")
    msg = str(e.value)
    assert "'\\t'" in msg and "line 3" in msg and "^" in msg


def test_the_command_line_exits_2_on_a_duplicate_key(tmp_path, capsys):
    plan = tmp_path / "p.yaml"
    plan.write_text(f"plan: t\ndata: {{source: {DATA}}}\nendpoints:\n"
                    "  os: {endpoint: OS, time_zero: relapse1, unit: months}\n"
                    "analyses:\n  - {id: os, kind: km, endpoint: os, group: sex, group: sanz_risk}\n")
    assert main(["run", str(plan), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "found the key 'group' twice" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("seed", ["yes", ".nan", "2022.5", "-1", "'2022'"])
def test_a_seed_that_is_not_a_whole_number_is_rejected(tmp_path, capsys, seed):
    plan = tmp_path / "p.yaml"
    plan.write_text(f"plan: t\nseed: {seed}\ndata: {{source: {DATA}}}\nendpoints:\n"
                    "  os: {endpoint: OS, time_zero: relapse1, unit: months}\n"
                    "analyses:\n  - {id: os, kind: km, endpoint: os}\n")
    assert main(["run", str(plan), "--out", str(tmp_path / "o")]) == 2
    assert "seed must be a whole number" in capsys.readouterr().err

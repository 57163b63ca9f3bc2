"""YAML reading for plans, mappings, scenarios and the bundled vocabularies.

Plans and mappings come from other people, so reading one is strict:

* only plain data (PyYAML's safe constructors: no Python objects from tags);
* a key given twice in one mapping is an error, not "the last one wins" (a plan with two
  ``group:`` lines would otherwise run with one of them without a word);
* a document whose aliases expand to more than :data:`MAX_VALUES` values ("billion
  laughs"), or that refers to itself, is refused before anything walks it;
* numbers with an exponent and no decimal point (``1e-300``) are numbers, as in YAML 1.2
  (YAML 1.1 reads them as text), and a number out of the range of a float (``1e309``,
  ``1e-400``) is an error, not infinity or 0;
* a value the constructors reject (``2022-13-45`` as a date, an integer longer than
  Python converts, bad base64), and any ``!!binary`` value, is a :class:`yaml.YAMLError`
  like any syntax error, so every caller reports it as a user error.

Parsing uses PyYAML's C parser when PyYAML was built with libyaml (the Min 2022 plan:
~0.15 s with the pure-Python parser, ~0.02 s in C; the same constructors and resolver, so
the same objects). A document that does not parse is parsed again by the pure-Python
parser for the error message, which quotes the line with a caret under the problem.
"""
from __future__ import annotations

import math
import re

import yaml
from yaml.constructor import ConstructorError

#: Most values (scalars, lists and mappings, counted as the aliases expand them) a
#: document may hold: plans, mappings and scenarios have a few thousand.
MAX_VALUES = 1_000_000


class YAMLValueError(yaml.YAMLError):
    """A document that parses but whose values cannot be used (see the module doc)."""


class _StrictMixin:
    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue        # `<<: *defaults` then explicit keys: YAML's override rule
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:   # an unhashable key: the constructor says so below
                    continue
                if first is not key_node:
                    raise ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found the key {key!r} twice (first on line "
                        f"{first.start_mark.line + 1}); give each setting once",
                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


class _PyLoader(_StrictMixin, yaml.SafeLoader):
    pass


_CSafe = getattr(yaml, "CSafeLoader", None)
_Loader = type("_Loader", (_StrictMixin, _CSafe), {}) if _CSafe is not None else _PyLoader

#: Numbers with an exponent and no decimal point (``1e-300``, ``2E5``): YAML 1.1 reads them
#: as text, YAML 1.2 (and every other reader of these files) as numbers; read as numbers,
#: so a plan, a scenario and a mapping read the same text the same way.
_EXP_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


def _construct_float(loader, node):
    """YAML floats, refusing a literal out of the range of a floating-point number
    (``1e309`` would be read as infinity, ``1e-400`` as 0) instead of changing it."""
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    text = str(node.value).replace("_", "").lower().lstrip("+-")
    if text.startswith("."):
        if text in (".inf", ".nan"):
            return value
    if math.isinf(value):
        raise ConstructorError(None, None, f"the number {node.value} is out of range (larger "
                               "than 1.8e308, the largest number that can be stored)",
                               node.start_mark)
    if value == 0 and any(ch in "123456789" for ch in text.split("e")[0]):
        raise ConstructorError(None, None, f"the number {node.value} is out of range (too "
                               "close to 0 to be stored: it would be read as 0)",
                               node.start_mark)
    return value


for _cls in {_PyLoader, _Loader}:
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", _EXP_FLOAT, list("-+0123456789"))
    _cls.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _check_size(doc) -> None:
    """Refuse self-reference and alias expansion past :data:`MAX_VALUES` (counted with
    one visit per distinct object, so the check itself stays small)."""
    sizes: dict = {}
    active: set = set()

    def size(x) -> int:
        if not isinstance(x, (list, dict)):
            if isinstance(x, bytes):
                raise YAMLValueError("binary values (!!binary) are not accepted: write text")
            return 1
        k = id(x)
        if k in sizes:
            return sizes[k]
        if k in active:
            raise YAMLValueError("the document refers to itself (a recursive alias)")
        active.add(k)
        total = 1
        for key, v in (x.items() if isinstance(x, dict) else enumerate(x)):
            total += size(v) + (size(key) if isinstance(x, dict) else 0)
            if total > MAX_VALUES:
                raise YAMLValueError(
                    f"the document expands to more than {MAX_VALUES:,} values through its "
                    "aliases (&anchor / *alias); refusing to read it")
        active.discard(k)
        sizes[k] = total
        return total
    try:
        size(doc)
    except RecursionError:
        raise YAMLValueError("the document is nested too deeply to read") from None


def safe_load(text):
    """``yaml.safe_load``, strict as the module doc says; raises :class:`yaml.YAMLError`."""
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader (C or Python)
    except yaml.MarkedYAMLError as exc:
        if _Loader is _PyLoader:
            raise
        try:        # the pure-Python parser words syntax errors better (line and caret)
            yaml.load(text, Loader=_PyLoader)  # noqa: S506
        except yaml.YAMLError as better:
            raise better from None
        except (ValueError, TypeError, OverflowError, RecursionError):
            pass
        raise exc from None
    except RecursionError:
        raise YAMLValueError("the document is nested too deeply to read") from None
    except (ValueError, TypeError, OverflowError) as exc:
        if "integer string conversion" in str(exc):  # Python's advice is not for the reader
            raise YAMLValueError("a value cannot be read: a number has more than 4,300 "
                                 "digits; no setting takes such a number") from None
        raise YAMLValueError(f"a value cannot be read: {exc}") from None
    _check_size(doc)
    return doc

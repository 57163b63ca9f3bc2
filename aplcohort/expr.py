"""A small, safe expression language for plans and :meth:`Cohort.filter`.

Plans travel between centres and are written by people who are not
programmers, so the text of a plan's ``where``, ``filters.keep`` and response
``outcome`` is *data*, never code. It used to go through ``pandas.eval`` /
``DataFrame.query``, which can call functions (``@pd.io.common.os.system(...)``).
This module replaces them with our own tokenizer and recursive-descent parser:
the grammar below is everything that exists; nothing is ever passed to Python's
``eval``/``exec`` or to pandas' expression engine, and no attribute, call,
subscript or name lookup outside the table's columns can be expressed at all.
(We keep our own parser instead of ``ast`` + a node whitelist because the
language has constructs Python lacks -- ``is missing`` and backtick-quoted
names -- and a hand-written grammar can name the exact offending token.)

Grammar
-------
::

    expression := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum ( (("==" | "!=" | "<" | "<=" | ">" | ">=") sum)+     # chained: a < b < c
                      | ["not"] "in" list
                      | "is" ["not"] "missing" )?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | atom
    atom       := number | string | True | False | column | "(" expression ")"
    list       := "[" [literal ("," literal)* [","]] "]"   (or the same in parentheses)
    column     := name | `name with spaces`

Keywords are case-sensitive except ``true``/``false`` which are also accepted
in lower case (YAML habit). Numbers are plain decimals (``12``, ``0.5``,
``1e-3``); underscores, hexadecimal and non-ASCII digits are not numbers.

Types and missing values
------------------------
Every value has one type: number, text, yes/no (boolean), date, and every
position may be *missing*. Columns take their type from their dtype (dates
``datetime64``, ``boolean``, numeric, otherwise text). A text literal compared
with a date column is read as an ISO date (``relapse1_date >= '2010-01-01'``).
``date - date`` is a number of days; ``date + n`` / ``date - n`` move by ``n``
days. Mixing types (``disease == 1``, ``age + sex``, ordering text with ``<``)
is an error, because it would otherwise give a silently empty selection.

Missing values follow three-valued (Kleene) logic, as in SQL:

* an arithmetic result or a comparison with a missing operand is missing
  (so ``x != 'IC'`` is *missing*, not true, for a patient whose ``x`` is
  missing); division by zero is missing;
* ``False and missing`` is false, ``True or missing`` is true, ``not missing``
  is missing;
* ``x is missing`` / ``x is not missing`` are never missing;
* **in a mask (a where / keep / filter), a missing result counts as false**:
  the patient is not kept. Write ``x != 'IC' or x is missing`` to keep them.

:func:`evaluate` returns the values themselves (missing included), which is
what a response ``outcome`` needs.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"regimen": ["ATO-based", "IC", None], "age": [40.0, None, 61.0]})
>>> evaluate_mask("regimen in ['ATO-based', 'IC'] and age < 60", df).tolist()
[True, False, False]
>>> evaluate_mask("regimen is missing or age >= 60", df).tolist()
[False, False, True]
>>> sorted(columns("`regimen` == 'IC' and age / 10 > 4"))
['age', 'regimen']
>>> parse("__import__('os')")
Traceback (most recent call last):
...
aplcohort.expr.ExpressionError: expression "__import__('os')": names starting with '__' are not allowed (at character 1: '__import__'). ...
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["ExpressionError", "Expression", "parse", "evaluate_mask", "evaluate", "columns",
           "evaluate_mask_detail", "evaluate_condition"]

#: Longest expression text accepted (a plan expression is a line, not a program).
MAX_LENGTH = 2000
#: Deepest nesting of parentheses / operators (bounds the parser's recursion).
MAX_DEPTH = 60

_HELP = ("Allowed: column names (`backticks` for names with spaces), numbers, 'text', True/False, "
         "== != < <= > >=, in [...], not in [...], is missing, is not missing, and, or, not, "
         "+ - * /, parentheses.")


class ExpressionError(InputError):
    """An expression in a plan or filter is not in the allowed language.

    Attributes
    ----------
    text : str
        The whole expression.
    token : str or None
        The offending token (or column name).
    position : int or None
        0-based character offset of the token in ``text``.
    """

    def __init__(self, message: str, *, text: str | None = "", token: str | None = None,
                 position: int | None = None, help: bool = True):
        self.text, self.token, self.position = text, token, position
        if text is None:  # message already complete (re-raised with more context)
            super().__init__(message)
            return
        where = ""
        if token is not None and position is not None:
            where = f" (at character {position + 1}: {token!r})"
        elif token is not None:
            where = f" ({token!r})"
        msg = f"expression {text!r}: {message}{where}."
        if help:
            msg += " " + _HELP
        super().__init__(msg)


# ----------------------------------------------------------------------------- tokenizer
_KEYWORDS = {"and", "or", "not", "in", "is", "missing", "True", "False", "true", "false"}
# Python words a user might try; named in the error instead of "unexpected name".
_FORBIDDEN_WORDS = {"lambda", "import", "from", "exec", "eval", "if", "else", "for", "while",
                    "def", "class", "return", "yield", "with", "as", "del", "global",
                    "nonlocal", "assert", "raise", "try", "except", "finally", "pass", "await",
                    "async", "None", "none", "null", "nan", "NaN", "NA"}

_NUMBER_RE = re.compile(r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_NAME_RE = re.compile(r"[^\W\d]\w*")
_OPS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",")
_BAD_CHARS = {
    "@": "'@' (a reference to a Python variable) is not allowed",
    ".": "attribute access ('.') is not allowed",
    "=": "a single '=' is assignment; compare with '=='",
    "&": "use 'and' instead of '&'",
    "|": "use 'or' instead of '|'",
    "~": "use 'not' instead of '~'",
    "%": "'%' is not an allowed operator",
    "{": "'{' is not allowed",
    "}": "'}' is not allowed",
    ";": "';' is not allowed",
    ":": "':' is not allowed",
    "\\": "a backslash is only allowed inside a quoted text",
    "!": "'!' alone is not an operator; use 'not' or '!='",
    "#": "comments are not allowed",
    "$": "'$' is not allowed",
    "^": "'^' is not allowed",
}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}


@dataclass(frozen=True)
class _Tok:
    kind: str      # "num", "str", "name", "qname", "kw", "op", "end"
    value: object
    pos: int
    raw: str


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "'\"":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ExpressionError("a quoted text is not closed", text=text,
                                          token=text[i:i + 20], position=i)
                c = text[j]
                if c == ch:
                    break
                if c == "\\":
                    if j + 1 < n and text[j + 1] in _ESCAPES:
                        buf.append(_ESCAPES[text[j + 1]])
                        j += 2
                        continue
                    raise ExpressionError("unknown escape in a quoted text (allowed: \\\\ \\' "
                                          "\\\" \\n \\t)", text=text, token=text[j:j + 2],
                                          position=j)
                buf.append(c)
                j += 1
            toks.append(_Tok("str", "".join(buf), i, text[i:j + 1]))
            i = j + 1
            continue
        if ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise ExpressionError("a `backtick-quoted` column name is not closed", text=text,
                                      token=text[i:i + 20], position=i)
            name = text[i + 1:j]
            if not name.strip():
                raise ExpressionError("empty `backtick-quoted` column name", text=text,
                                      token=text[i:j + 1], position=i)
            if name.startswith("__"):
                raise ExpressionError("names starting with '__' are not allowed", text=text,
                                      token=name, position=i)
            toks.append(_Tok("qname", name, i, text[i:j + 1]))
            i = j + 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER_RE.match(text, i)
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                # 1_000, 0x1F, 12abc, 1.2.3, non-ASCII digits glued to ASCII ones
                k = end
                while k < n and (text[k].isalnum() or text[k] in "_."):
                    k += 1
                raise ExpressionError("not a number (write plain decimals such as 1000 or 0.5)",
                                      text=text, token=text[i:k], position=i)
            if not text[i:end].isascii():
                raise ExpressionError("only ASCII digits 0-9 are numbers", text=text,
                                      token=text[i:end], position=i)
            raw = text[i:end]
            val = float(raw) if any(c in raw for c in ".eE") else int(raw)
            toks.append(_Tok("num", val, i, raw))
            i = end
            continue
        m = _NAME_RE.match(text, i)
        if m:
            word = m.group(0)
            if word.startswith("__"):
                raise ExpressionError("names starting with '__' are not allowed", text=text,
                                      token=word, position=i)
            if word in _FORBIDDEN_WORDS:
                hint = ("; test for missing values with 'X is missing'"
                        if word in {"None", "none", "null", "nan", "NaN", "NA"} else "")
                raise ExpressionError(f"{word!r} is not part of the expression language{hint}",
                                      text=text, token=word, position=i)
            toks.append(_Tok("kw" if word in _KEYWORDS else "name", word, i, word))
            i = m.end()
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is not None and not text.startswith("**", i) and not text.startswith("//", i):
            toks.append(_Tok("op", op, i, op))
            i += len(op)
            continue
        if text.startswith("**", i) or text.startswith("//", i):
            raise ExpressionError(f"'{text[i:i + 2]}' is not an allowed operator", text=text,
                                  token=text[i:i + 2], position=i)
        if ch == "." and toks and toks[-1].kind in ("name", "qname"):
            m2 = _NAME_RE.match(text, i + 1)
            meth = m2.group(0) if m2 else ""
            col = toks[-1].value
            hint = ""
            if meth in ("notna", "notnull"):
                hint = f"; write '{col} is not missing'"
            elif meth in ("isna", "isnull"):
                hint = f"; write '{col} is missing'"
            elif meth == "isin":
                hint = f"; write '{col} in [...]'"
            raise ExpressionError(f"attribute access and method calls are not allowed{hint}",
                                  text=text, token=text[i:i + 1 + len(meth)], position=i)
        msg = _BAD_CHARS.get(ch, f"the character {ch!r} is not allowed")
        raise ExpressionError(msg, text=text, token=ch, position=i)
    toks.append(_Tok("end", None, n, "end of expression"))
    return toks


# ----------------------------------------------------------------------------- syntax tree
# Nodes are plain tuples, (tag, ...):
#   ("col", name, pos) ("lit", value, pos) ("neg", node) ("arith", op, left, right, pos)
#   ("cmp", [node, node, ...], [op, ...], [pos, ...]) ("in", node, [values], negated, pos)
#   ("missing", node, negated) ("not", node) ("and", [nodes]) ("or", [nodes])


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, kind: str, value=None) -> bool:
        t = self.peek()
        return t.kind == kind and (value is None or t.value == value)

    def error(self, msg: str, tok: _Tok | None = None):
        tok = tok or self.peek()
        raise ExpressionError(msg, text=self.text, token=tok.raw, position=tok.pos)

    def expect(self, kind: str, value, what: str):
        if not self.at(kind, value):
            t = self.peek()
            if t.kind == "op" and t.value == "(" and what != "'('":
                self.error("function calls are not allowed")
            self.error(f"expected {what}")
        return self.next()

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.error(f"the expression is nested more than {MAX_DEPTH} levels deep")

    def parse(self):
        if not self.text.strip():
            raise ExpressionError("the expression is empty", text=self.text)
        node = self.p_or()
        if not self.at("end"):
            t = self.peek()
            if t.kind == "op" and t.value == "(":
                self.error("function calls are not allowed")
            if t.kind == "op" and t.value == "[":
                self.error("subscripts ('[...]') are not allowed")
            self.error("unexpected token")
        return node

    def p_or(self):
        self.enter()
        parts = [self.p_and()]
        while self.at("kw", "or"):
            self.next()
            parts.append(self.p_and())
        self.depth -= 1
        return parts[0] if len(parts) == 1 else ("or", parts)

    def p_and(self):
        parts = [self.p_not()]
        while self.at("kw", "and"):
            self.next()
            parts.append(self.p_not())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def p_not(self):
        if self.at("kw", "not"):
            self.next()
            self.enter()
            node = ("not", self.p_not())
            self.depth -= 1
            return node
        return self.p_cmp()

    _CMP = ("==", "!=", "<", "<=", ">", ">=")

    def p_cmp(self):
        left = self.p_sum()
        t = self.peek()
        if t.kind == "op" and t.value in self._CMP:
            nodes, ops, poss = [left], [], []
            while self.peek().kind == "op" and self.peek().value in self._CMP:
                tok = self.next()
                ops.append(tok.value)
                poss.append(tok.pos)
                nodes.append(self.p_sum())
            return ("cmp", nodes, ops, poss)
        if t.kind == "kw" and t.value == "in":
            self.next()
            return ("in", left, self.p_list(), False, t.pos)
        if t.kind == "kw" and t.value == "not":
            nt = self.next()
            if not self.at("kw", "in"):
                self.error("expected 'in' after 'not' here (or 'X is not missing')")
            self.next()
            return ("in", left, self.p_list(), True, nt.pos)
        if t.kind == "kw" and t.value == "is":
            self.next()
            neg = False
            if self.at("kw", "not"):
                self.next()
                neg = True
            if not self.at("kw", "missing"):
                self.error("'is' is only used as 'X is missing' or 'X is not missing'")
            self.next()
            return ("missing", left, neg)
        return left

    def p_list(self):
        if not (self.at("op", "[") or self.at("op", "(")):
            self.error("expected a list such as ['a', 'b'] after 'in'")
        close = "]" if self.next().value == "[" else ")"
        vals = []
        while not self.at("op", close):
            vals.append(self.p_literal())
            if self.at("op", ","):
                self.next()
            elif not self.at("op", close):
                self.error(f"expected ',' or '{close}' in the list")
        self.next()
        return vals

    def p_literal(self):
        t = self.next()
        sign = 1
        if t.kind == "op" and t.value in ("-", "+"):
            sign = -1 if t.value == "-" else 1
            t = self.next()
            if t.kind != "num":
                self.error("a list holds only numbers, 'texts' and True/False", t)
            return sign * t.value
        if t.kind in ("num", "str"):
            return t.value
        if t.kind == "kw" and t.value in ("True", "true"):
            return True
        if t.kind == "kw" and t.value in ("False", "false"):
            return False
        self.error("a list holds only numbers, 'texts' and True/False (no column names)", t)

    def p_sum(self):
        left = self.p_prod()
        while self.peek().kind == "op" and self.peek().value in ("+", "-"):
            tok = self.next()
            left = ("arith", tok.value, left, self.p_prod(), tok.pos)
        return left

    def p_prod(self):
        left = self.p_unary()
        while self.peek().kind == "op" and self.peek().value in ("*", "/"):
            tok = self.next()
            left = ("arith", tok.value, left, self.p_unary(), tok.pos)
        return left

    def p_unary(self):
        t = self.peek()
        if t.kind == "op" and t.value in ("-", "+"):
            self.next()
            self.enter()
            node = self.p_unary()
            self.depth -= 1
            return ("neg", node, t.pos) if t.value == "-" else node
        return self.p_atom()

    def p_atom(self):
        t = self.next()
        if t.kind in ("num", "str"):
            return ("lit", t.value, t.pos)
        if t.kind == "kw" and t.value in ("True", "true"):
            return ("lit", True, t.pos)
        if t.kind == "kw" and t.value in ("False", "false"):
            return ("lit", False, t.pos)
        if t.kind in ("name", "qname"):
            if self.at("op", "("):
                self.error("function calls are not allowed", self.peek())
            if self.at("op", "["):
                self.error("subscripts ('[...]') are not allowed", self.peek())
            return ("col", t.value, t.pos)
        if t.kind == "op" and t.value == "(":
            self.enter()
            node = self.p_or()
            self.depth -= 1
            if self.at("op", ","):
                self.error("tuples are only allowed after 'in'")
            self.expect("op", ")", "')'")
            if self.at("op", "(") or self.at("op", "["):
                self.error("calls and subscripts are not allowed")
            return node
        if t.kind == "end":
            self.error("the expression ends too early", t)
        if t.kind == "kw":
            self.error(f"'{t.value}' cannot stand here", t)
        self.error("unexpected token", t)


def _collect_columns(node, out: dict):
    tag = node[0]
    if tag == "col":
        out.setdefault(node[1], node[2])
    elif tag in ("neg", "not"):
        _collect_columns(node[1], out)
    elif tag == "arith":
        _collect_columns(node[2], out)
        _collect_columns(node[3], out)
    elif tag == "cmp":
        for c in node[1]:
            _collect_columns(c, out)
    elif tag in ("in", "missing"):
        _collect_columns(node[1], out)
    elif tag in ("and", "or"):
        for c in node[1]:
            _collect_columns(c, out)


# ----------------------------------------------------------------------------- evaluation
@dataclass
class _V:
    """A value: ``kind`` in number/text/bool/date, ``v`` array or scalar, ``na`` mask or bool."""

    kind: str
    v: object
    na: object
    desc: str


def _column_value(df: pd.DataFrame, name: str) -> _V:
    s = df[name]
    if isinstance(s, pd.DataFrame):
        raise ExpressionError("the table has several columns with this name", token=name,
                              help=False)
    na = s.isna().to_numpy()
    desc = f"column {name!r}"
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return _V("bool", s.fillna(False).to_numpy(dtype=bool), na, desc)
    if pd.api.types.is_datetime64_any_dtype(dt):
        if getattr(dt, "tz", None) is not None:
            s = s.dt.tz_convert(None)
        return _V("date", s.to_numpy(dtype="datetime64[ns]"), na, desc)
    if pd.api.types.is_numeric_dtype(dt):
        return _V("number", s.to_numpy(dtype=float, na_value=np.nan), na, desc)
    vals = s.to_numpy(dtype=object)
    present = [x for x in vals[~na]]
    if present and all(isinstance(x, (bool, np.bool_)) for x in present):
        out = np.zeros(len(vals), dtype=bool)
        out[~na] = np.asarray(present, dtype=bool)
        return _V("bool", out, na, desc)
    if present and all(isinstance(x, (int, float, np.integer, np.floating))
                       and not isinstance(x, (bool, np.bool_)) for x in present):
        out = np.full(len(vals), np.nan)
        out[~na] = np.asarray(present, dtype=float)
        return _V("number", out, na, desc)
    txt = np.array(["" if m else str(x) for x, m in zip(vals, na)], dtype=object)
    return _V("text", txt, na, desc)


def _lit_value(x) -> _V:
    if isinstance(x, bool):
        return _V("bool", x, False, repr(x))
    if isinstance(x, (int, float)):
        return _V("number", float(x), False, repr(x))
    return _V("text", x, False, repr(x))


def _as_date(lit: _V, ctx) -> _V:
    """A text literal compared with a date column is read as an ISO date."""
    s = str(lit.v)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        ctx.fail(f"{lit.desc} is compared with a date; write dates as 'YYYY-MM-DD'")
    try:
        ts = pd.Timestamp(s)
    except ValueError:
        ctx.fail(f"{lit.desc} is not a valid date")
    return _V("date", np.datetime64(ts.to_datetime64(), "ns"), False, lit.desc)


class _Eval:
    def __init__(self, expr: "Expression", df: pd.DataFrame):
        self.expr, self.df, self.n = expr, df, len(df)

    def fail(self, msg: str, token=None, pos=None):
        raise ExpressionError(msg, text=self.expr.text, token=token, position=pos, help=False)

    def run(self, node) -> _V:
        return getattr(self, "e_" + node[0])(node)

    # leaves
    def e_col(self, node):
        return _column_value(self.df, node[1])

    def e_lit(self, node):
        return _lit_value(node[1])

    # arithmetic
    def e_neg(self, node):
        x = self.run(node[1])
        if x.kind != "number":
            self.fail(f"'-' needs a number, {x.desc} is {x.kind}", "-", node[2])
        return _V("number", -x.v, x.na, f"-{x.desc}")

    def e_arith(self, node):
        op, pos = node[1], node[4]
        a, b = self.run(node[2]), self.run(node[3])
        na = np.logical_or(a.na, b.na)
        desc = f"({a.desc} {op} {b.desc})"
        with np.errstate(all="ignore"):
            if a.kind == "number" and b.kind == "number":
                if op == "+":
                    v = a.v + b.v
                elif op == "-":
                    v = a.v - b.v
                elif op == "*":
                    v = a.v * b.v
                else:
                    bz = np.asarray(b.v) == 0
                    v = np.where(bz, np.nan, a.v / np.where(bz, 1.0, b.v))
                    na = np.logical_or(na, bz)  # division by zero is missing, never inf
                return _V("number", v, na, desc)
            if a.kind == "date" and b.kind == "date" and op == "-":
                diff = (np.asarray(a.v, dtype="datetime64[ns]")
                        - np.asarray(b.v, dtype="datetime64[ns]"))
                days = diff.astype("timedelta64[ns]").astype("int64") / 86_400e9
                return _V("number", np.where(na, np.nan, days), na, desc)
            if a.kind == "date" and b.kind == "number" and op in "+-":
                bad = ~np.asarray(b.na) & ~np.isfinite(np.asarray(b.v, dtype=float))
                if np.any(bad):
                    na = np.logical_or(na, bad)
                ns = np.where(na, 0, np.round(np.asarray(b.v, dtype=float) * 86_400e9)).astype("int64")
                delta = ns.astype("timedelta64[ns]")
                v = a.v + delta if op == "+" else a.v - delta
                return _V("date", v, na, desc)
        self.fail(f"'{op}' cannot combine {a.desc} ({a.kind}) with {b.desc} ({b.kind})", op, pos)

    # comparisons
    def _compare(self, a: _V, op: str, b: _V, pos) -> _V:
        if a.kind == "date" and b.kind == "text" and np.ndim(b.v) == 0:
            b = _as_date(b, self)
        if b.kind == "date" and a.kind == "text" and np.ndim(a.v) == 0:
            a = _as_date(a, self)
        if a.kind != b.kind:
            hint = ""
            if {a.kind, b.kind} == {"bool", "number"}:
                hint = "; compare yes/no columns with True or False"
            self.fail(f"cannot compare {a.desc} ({a.kind}) with {b.desc} ({b.kind}){hint}", op, pos)
        if a.kind in ("text", "bool") and op not in ("==", "!="):
            self.fail(f"'{op}' does not order {a.kind} values; use == or != (or 'in [...]')",
                      op, pos)
        na = np.logical_or(a.na, b.na)
        av, bv = a.v, b.v
        if a.kind == "text":
            av = np.asarray(av, dtype=object)
            bv = np.asarray(bv, dtype=object)
        with np.errstate(invalid="ignore"):
            if op == "==":
                r = av == bv
            elif op == "!=":
                r = av != bv
            elif op == "<":
                r = av < bv
            elif op == "<=":
                r = av <= bv
            elif op == ">":
                r = av > bv
            else:
                r = av >= bv
        r = np.asarray(r, dtype=bool)
        return _V("bool", np.logical_and(r, np.logical_not(na)), na, f"({a.desc} {op} {b.desc})")

    def e_cmp(self, node):
        vals = [self.run(c) for c in node[1]]
        parts = [self._compare(vals[k], node[2][k], vals[k + 1], node[3][k])
                 for k in range(len(node[2]))]
        return parts[0] if len(parts) == 1 else self._kleene("and", parts)

    def e_in(self, node):
        x = self.run(node[1])
        items = [_lit_value(v) for v in node[2]]
        if x.kind == "date":
            items = [_as_date(i, self) if i.kind == "text" else i for i in items]
        for it in items:
            if it.kind != x.kind:
                self.fail(f"the list after 'in' holds {it.desc} ({it.kind}) but {x.desc} is "
                          f"{x.kind}", "in", node[4])
        xv = np.asarray(x.v, dtype=object if x.kind == "text" else None)
        if xv.ndim == 0:
            r = np.asarray(any(bool(xv == it.v) for it in items))
        elif not items:
            r = np.zeros(len(xv), dtype=bool)
        elif x.kind == "text":
            r = pd.Series(xv).isin([it.v for it in items]).to_numpy()
        else:
            r = np.isin(xv, np.asarray([it.v for it in items], dtype=xv.dtype))
        if node[3]:
            r = ~r
        na = x.na
        return _V("bool", np.logical_and(r, np.logical_not(na)), na,
                  f"({x.desc} {'not in' if node[3] else 'in'} [...])")

    def e_missing(self, node):
        x = self.run(node[1])
        m = np.asarray(x.na, dtype=bool)
        if node[2]:
            m = ~m
        return _V("bool", m, False, f"({x.desc} is {'not ' if node[2] else ''}missing)")

    # logic
    def _need_bool(self, x: _V, word: str):
        if x.kind != "bool":
            self.fail(f"'{word}' needs true/false values, but {x.desc} is {x.kind}", word)

    def e_not(self, node):
        x = self.run(node[1])
        self._need_bool(x, "not")
        return _V("bool", np.logical_and(~np.asarray(x.v, dtype=bool), np.logical_not(x.na)),
                  x.na, f"not {x.desc}")

    def _kleene(self, op: str, parts: list[_V]) -> _V:
        v, na = parts[0].v, parts[0].na
        for p in parts[1:]:
            if op == "and":
                false_a = np.logical_and(np.logical_not(na), np.logical_not(v))
                false_b = np.logical_and(np.logical_not(p.na), np.logical_not(p.v))
                decided_false = np.logical_or(false_a, false_b)
                na = np.logical_and(np.logical_or(na, p.na), np.logical_not(decided_false))
                v = np.logical_and(np.logical_and(v, p.v), np.logical_not(na))
            else:
                true_a = np.logical_and(np.logical_not(na), v)
                true_b = np.logical_and(np.logical_not(p.na), p.v)
                decided_true = np.logical_or(true_a, true_b)
                na = np.logical_and(np.logical_or(na, p.na), np.logical_not(decided_true))
                v = decided_true
        return _V("bool", v, na, f" {op} ".join(p.desc for p in parts))

    def e_and(self, node):
        parts = [self.run(c) for c in node[1]]
        for p in parts:
            self._need_bool(p, "and")
        return self._kleene("and", parts)

    def e_or(self, node):
        parts = [self.run(c) for c in node[1]]
        for p in parts:
            self._need_bool(p, "or")
        return self._kleene("or", parts)


def _broadcast(x: _V, n: int) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(x.v)
    na = np.asarray(x.na, dtype=bool)
    if v.ndim == 0:
        v = np.full(n, v.item(), dtype=v.dtype)
    if na.ndim == 0:
        na = np.full(n, bool(na))
    return v, na


@dataclass(frozen=True)
class Expression:
    """A parsed expression (immutable; evaluate it on any table with its columns).

    Attributes
    ----------
    text : str
        The source text.
    columns : frozenset of str
        The column names it reads.
    """

    text: str
    tree: tuple
    columns: frozenset
    _positions: tuple = ()

    def _check_columns(self, df: pd.DataFrame) -> None:
        if not isinstance(df, pd.DataFrame):
            raise InputError(f"expression {self.text!r}: needs a pandas DataFrame, "
                             f"got {type(df).__name__}")
        have = [str(c) for c in df.columns]
        for name, pos in self._positions:
            if name not in df.columns:
                sugg = difflib.get_close_matches(name, have, n=3, cutoff=0.6)
                low = {c.lower(): c for c in have}
                if name.lower() in low and low[name.lower()] not in sugg:
                    sugg.insert(0, low[name.lower()])
                hint = f"; did you mean {', '.join(repr(s) for s in sugg)}?" if sugg else \
                    "; the table has no column of that name"
                raise ExpressionError(f"unknown column {name!r}{hint}", text=self.text,
                                      token=name, position=pos, help=False)

    def _value(self, df: pd.DataFrame) -> _V:
        self._check_columns(df)
        return _Eval(self, df).run(self.tree)

    def mask_detail(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(mask, unknown)``: the boolean mask (missing -> False) and where it was missing."""
        x = self._value(df)
        if x.kind != "bool":
            raise ExpressionError(f"gives {x.kind} values, not true/false, so it cannot select "
                                  "patients (write a comparison, e.g. 'age >= 60')",
                                  text=self.text, help=False)
        v, na = _broadcast(x, len(df))
        v = np.asarray(v, dtype=bool)
        return np.logical_and(v, np.logical_not(na)), na.copy()

    def mask(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean mask, one value per row; a missing result is False."""
        return self.mask_detail(df)[0]

    def evaluate(self, df: pd.DataFrame) -> pd.Series:
        """The values, one per row, with missing kept missing.

        Yes/no results have dtype ``boolean`` (``pd.NA`` where missing), numbers
        ``float64`` (NaN), dates ``datetime64[ns]`` (NaT), text ``object`` (None).
        """
        x = self._value(df)
        v, na = _broadcast(x, len(df))
        if x.kind == "bool":
            arr = pd.array(np.asarray(v, dtype=bool), dtype="boolean")
            arr[na] = pd.NA
            return pd.Series(arr, index=df.index)
        if x.kind == "number":
            out = np.asarray(v, dtype=float).copy()
            out[na] = np.nan
            return pd.Series(out, index=df.index)
        if x.kind == "date":
            out = np.asarray(v, dtype="datetime64[ns]").copy()
            out[na] = np.datetime64("NaT")
            return pd.Series(out, index=df.index)
        out = np.asarray(v, dtype=object).copy()
        out[na] = None
        return pd.Series(out, index=df.index, dtype=object)


def parse(text) -> Expression:
    """Parse an expression; raise :class:`ExpressionError` for anything outside the language.

    Parameters
    ----------
    text : str or Expression

    Returns
    -------
    Expression

    Examples
    --------
    >>> e = parse("`WBC (Rel)` > 10 and sex == 'F'")
    >>> sorted(e.columns)
    ['WBC (Rel)', 'sex']
    """
    if isinstance(text, Expression):
        return text
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__} "
                              f"{text!r}", text=str(text), help=False)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters", text=text[:60] + "...",
                              help=False)
    p = _Parser(text)
    tree = p.parse()
    cols: dict = {}
    _collect_columns(tree, cols)
    return Expression(text=text, tree=tree, columns=frozenset(cols),
                      _positions=tuple(cols.items()))


def evaluate_mask(text, df: pd.DataFrame) -> np.ndarray:
    """Evaluate a yes/no expression to a boolean mask (missing counts as False).

    Examples
    --------
    >>> import pandas as pd
    >>> evaluate_mask("x != 'a'", pd.DataFrame({"x": ["a", "b", None]})).tolist()
    [False, True, False]
    """
    return parse(text).mask(df)


def evaluate_mask_detail(text, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`evaluate_mask` but also returns where the result was missing."""
    return parse(text).mask_detail(df)


def evaluate(text, df: pd.DataFrame) -> pd.Series:
    """Evaluate an expression to its values (missing kept; see :meth:`Expression.evaluate`).

    Examples
    --------
    >>> import pandas as pd
    >>> evaluate("response == 'mCR2'", pd.DataFrame({"response": ["mCR2", "CR2", None]})).tolist()
    [True, False, <NA>]
    """
    return parse(text).evaluate(df)


def evaluate_condition(text, df: pd.DataFrame) -> pd.Series:
    """Evaluate a yes/no expression to a ``boolean`` Series, missing kept as ``pd.NA``.

    For a response ``outcome``: unlike :func:`evaluate`, a result that is not yes/no
    (``age + 1``, ``response``) is an :class:`ExpressionError`, never coerced.

    Examples
    --------
    >>> import pandas as pd
    >>> evaluate_condition("x > 1", pd.DataFrame({"x": [0.0, 2.0, None]})).tolist()
    [False, True, <NA>]
    """
    e = parse(text)
    x = e._value(df)
    if x.kind != "bool":
        raise ExpressionError(f"gives {x.kind} values, not true/false (write a comparison, e.g. "
                              "\"response == 'mCR2'\")", text=e.text, help=False)
    return e.evaluate(df)


def columns(text) -> set[str]:
    """The column names an expression reads.

    Examples
    --------
    >>> sorted(columns("a + `b c` > 1 or d is missing"))
    ['a', 'b c', 'd']
    """
    return set(parse(text).columns)

"""Excel formulas over parameters, evaluated per PSA draw.

A number cell of an input workbook may hold a formula such as ``=price_dara_dose*doses*0.95`` or
``=Parameters!B12*0.75``. Formulas are tokenized by openpyxl's Excel formula tokenizer and parsed
here by precedence climbing into a small expression tree (never ``eval``); the workbook reader
then resolves cell references and defined names to parameter names (:func:`resolve`), so that a
stored formula reads ``=price_dara_dose*0.75`` whatever cell it came from. :func:`evaluate`
computes a tree for all draws at once with numpy, so PSA, DSA, scenarios and threshold prices
propagate through the workbook's own arithmetic.

Operators and precedence follow Excel: unary minus binds tightest (``-2^2`` is 4), then ``%``,
``^``, ``* /``, ``+ -``, comparisons; all binary operators are left-associative. Supported
functions: :data:`FUNCTIONS`. Comparisons give 1 (TRUE) or 0 (FALSE); IF's condition is true when
non-zero, as in Excel.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
from openpyxl.formula import Tokenizer
from openpyxl.formula.tokenizer import Token, TokenizerError

Node = tuple  # ("num", x) | ("name", p) | ("ref", text) | ("neg", a) | ("pct", a)
#               | ("bin", op, a, b) | ("call", NAME, (args, ...))

#: function → (minimum, maximum) number of arguments (None: any number)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "IF": (2, 3), "MIN": (1, None), "MAX": (1, None), "SUM": (1, None), "AVERAGE": (1, None),
    "ROUND": (2, 2), "EXP": (1, 1), "LN": (1, 1), "LOG": (1, 2), "SQRT": (1, 1), "ABS": (1, 1),
}
#: functions whose arguments may be ranges of several cells
RANGE_FUNCTIONS = ("MIN", "MAX", "SUM", "AVERAGE")
_PRECEDENCE = {"=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1,
               "+": 3, "-": 3, "*": 4, "/": 4, "^": 5}


class FormulaError(ValueError):
    """A formula hecon cannot read: the message says what and what would be valid."""


def is_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith("=") and len(value) > 1


# -- parsing -----------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str):
        try:
            items = Tokenizer(text).items
        except TokenizerError as err:
            raise FormulaError(f"not a valid formula: {err}") from None
        self.tokens = [t for t in items if t.type != Token.WSPACE]
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise FormulaError("the formula ends too early")
        self.i += 1
        return tok

    def expression(self, min_prec: int = 0) -> Node:
        left = self.prefix()
        while (tok := self.peek()) is not None:
            if tok.type == Token.OP_POST:  # "%"
                self.take()
                left = ("pct", left)
            elif tok.type == Token.OP_IN and tok.value in _PRECEDENCE:
                prec = _PRECEDENCE[tok.value]
                if prec < min_prec:
                    break
                self.take()
                left = ("bin", tok.value, left, self.expression(prec + 1))
            elif tok.type == Token.OP_IN:
                raise FormulaError(f"operator {tok.value!r} is not supported; use + - * / ^ "
                                   "and comparisons")
            else:
                break
        return left

    def prefix(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.type == Token.OP_PRE:
            self.take()
            operand = self.prefix()
            return ("neg", operand) if tok.value == "-" else operand
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.type == Token.OPERAND:
            if tok.subtype == Token.NUMBER:
                return ("num", float(tok.value))
            if tok.subtype == Token.LOGICAL:
                return ("num", 1.0 if tok.value.upper() == "TRUE" else 0.0)
            if tok.subtype == Token.RANGE:
                return ("ref", tok.value)
            raise FormulaError(f"{tok.value} is not a number or a reference (text and Excel "
                               "error values cannot be computed with)")
        if tok.type == Token.PAREN and tok.subtype == Token.OPEN:
            inner = self.expression()
            self.expect(Token.PAREN)
            return inner
        if tok.type == Token.FUNC and tok.subtype == Token.OPEN:
            return self.call(tok.value[:-1].upper().removeprefix("_XLFN."))
        raise FormulaError(f"unexpected {tok.value!r}")

    def call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise FormulaError(f"function {name} is not supported; supported: "
                               f"{', '.join(FUNCTIONS)}")
        args: list[Node] = []
        nxt = self.peek()
        if nxt is not None and nxt.type == Token.FUNC and nxt.subtype == Token.CLOSE:
            self.take()
        else:
            while True:
                args.append(self.expression())
                tok = self.take()
                if tok.type == Token.FUNC and tok.subtype == Token.CLOSE:
                    break
                if tok.type != Token.SEP or tok.subtype != Token.ARG:
                    raise FormulaError(f"unexpected {tok.value!r} in the arguments of {name}")
        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            want = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise FormulaError(f"{name} takes {want} argument(s); got {len(args)}")
        return ("call", name, tuple(args))

    def expect(self, kind: str) -> None:
        tok = self.take()
        if tok.type != kind or tok.subtype != Token.CLOSE:
            raise FormulaError(f"expected ')' but found {tok.value!r}")


def parse(text: str) -> Node:
    """The expression tree of an Excel formula (``text`` starts with "=")."""
    if not is_formula(text):
        raise FormulaError(f"{text!r} is not a formula (a formula starts with '=')")
    parser = _Parser(text)
    if not parser.tokens:
        raise FormulaError("empty formula")
    tree = parser.expression()
    extra = parser.peek()
    if extra is not None:
        raise FormulaError(f"unexpected {extra.value!r}")
    return tree


# -- resolving references ----------------------------------------------------------------------
Lookup = Callable[[str], list[Node]]


def resolve(node: Node, lookup: Lookup) -> Node:
    """``node`` with every ``("ref", text)`` replaced by what ``lookup(text)`` gives: one node
    for a cell or name, several for a range (allowed only as an argument of MIN, MAX, SUM and
    AVERAGE)."""
    kind = node[0]
    if kind == "ref":
        found = lookup(node[1])
        if len(found) != 1:
            raise FormulaError(f"range {node[1]} can only be an argument of "
                               f"{', '.join(RANGE_FUNCTIONS)}")
        return found[0]
    if kind in ("neg", "pct"):
        return (kind, resolve(node[1], lookup))
    if kind == "bin":
        return ("bin", node[1], resolve(node[2], lookup), resolve(node[3], lookup))
    if kind == "call":
        args: list[Node] = []
        for arg in node[2]:
            if arg[0] == "ref" and node[1] in RANGE_FUNCTIONS:
                args += lookup(arg[1])
            else:
                args.append(resolve(arg, lookup))
        return ("call", node[1], tuple(args))
    return node


def names(node: Node) -> set[str]:
    """The parameter names a resolved tree refers to."""
    if node[0] == "name":
        return {node[1]}
    if node[0] in ("neg", "pct"):
        return names(node[1])
    if node[0] == "bin":
        return names(node[2]) | names(node[3])
    if node[0] == "call":
        return set().union(*(names(a) for a in node[2]))
    return set()


def to_text(node: Node) -> str:
    """A resolved tree as formula text (parameter names as defined names), e.g.
    ``=(a*b)+0.5``; sub-expressions are parenthesised so precedence never matters."""
    return "=" + _text(node)


def _text(node: Node) -> str:
    kind = node[0]
    if kind == "num":
        return repr(float(node[1])).removesuffix(".0") if node[1] >= 0 else f"({node[1]!r})"
    if kind in ("name", "ref"):
        return node[1]
    if kind == "neg":
        return f"-{_wrap(node[1])}"
    if kind == "pct":
        return f"{_wrap(node[1])}%"
    if kind == "bin":
        return f"{_wrap(node[2])}{node[1]}{_wrap(node[3])}"
    return f"{node[1]}({','.join(_text(a) for a in node[2])})"


def _wrap(node: Node) -> str:
    return f"({_text(node)})" if node[0] in ("bin", "neg", "pct") else _text(node)


# -- evaluation --------------------------------------------------------------------------------
Env = Callable[[str], np.ndarray]


def evaluate(node: Node, env: Env, n: int = 1) -> np.ndarray:
    """Values of a resolved tree for ``n`` draws; ``env(name)`` gives a parameter's draws.
    Invalid arithmetic (LN of 0, division by 0) gives inf or nan, for the caller to report."""
    with np.errstate(all="ignore"):
        out = _eval(node, env)
    return np.broadcast_to(np.asarray(out, dtype=float), (n,)).copy()


_BINARY = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power,
    "=": np.equal, "<>": np.not_equal, "<": np.less, ">": np.greater, "<=": np.less_equal,
    ">=": np.greater_equal,
}


def _eval(node: Node, env: Env):
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "name":
        return env(node[1])
    if kind == "neg":
        return -_eval(node[1], env)
    if kind == "pct":
        return _eval(node[1], env) / 100.0
    if kind == "bin":
        out = _BINARY[node[1]](np.asarray(_eval(node[2], env), dtype=float),
                               np.asarray(_eval(node[3], env), dtype=float))
        return out.astype(float) if out.dtype == bool else out
    if kind == "call":
        return _call(node[1], [_eval(a, env) for a in node[2]])
    raise FormulaError(f"unresolved reference {node[1]!r}")


def _call(name: str, args: Sequence):
    a = [np.asarray(x, dtype=float) for x in args]
    if name == "IF":
        return np.where(a[0] != 0, a[1], a[2] if len(a) > 2 else 0.0)
    if name == "MIN":
        return np.minimum.reduce(np.broadcast_arrays(*a))
    if name == "MAX":
        return np.maximum.reduce(np.broadcast_arrays(*a))
    if name in ("SUM", "AVERAGE"):
        total = np.add.reduce(np.broadcast_arrays(*a))
        return total / len(a) if name == "AVERAGE" else total
    if name == "ROUND":  # Excel rounds halves away from zero
        factor = 10.0 ** np.trunc(a[1])
        return np.sign(a[0]) * np.floor(np.abs(a[0]) * factor + 0.5) / factor
    if name == "LOG":
        return np.log(a[0]) / np.log(a[1] if len(a) > 1 else 10.0)
    unary = {"EXP": np.exp, "LN": np.log, "SQRT": np.sqrt, "ABS": np.abs}
    return unary[name](a[0])


@functools.lru_cache(maxsize=4096)
def compile_formula(text: str) -> Node:
    """Parse a stored (already resolved) formula whose references are all parameter names
    (cached: PSA chunks and what-if runs evaluate the same formulas again and again)."""
    return resolve(parse(text), lambda ref: [("name", ref)])


__all__ = ["FUNCTIONS", "FormulaError", "compile_formula", "evaluate", "is_formula", "names",
           "parse", "resolve", "to_text"]

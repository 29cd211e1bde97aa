"""The catalogue's formula syntax: indicator keys, numbers, + - * / and parentheses, parsed once, evaluated exactly."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any


class FormulaError(ValueError):
    """A catalogue formula outside the supported syntax."""


@dataclass(frozen=True)
class _Num:
    value: Fraction


@dataclass(frozen=True)
class _Var:
    name: str


@dataclass(frozen=True)
class _BinOp:
    op: str
    left: _Node
    right: _Node


_Node = _Num | _Var | _BinOp
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/()]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FormulaError(f"công thức không hợp lệ tại vị trí {pos}: {text!r}")
        kind = match.lastgroup or "op"
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent over `expr := term (('+'|'-') term)*`, `term := factor (('*'|'/') factor)*`,
    `factor := number | indicator_key | '(' expr ')'`: exactly the catalogue's syntax, left-associative."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def parse(self) -> _Node:
        node = self._expr()
        if self.pos != len(self.tokens):
            raise FormulaError(f"thừa ký tự sau vị trí {self.pos}: {self.text!r}")
        return node

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _binary(self, ops: str, operand: Callable[[], _Node]) -> _Node:
        node = operand()
        while (token := self._peek()) is not None and token[0] == "op" and token[1] in ops:
            self.pos += 1
            node = _BinOp(token[1], node, operand())
        return node

    def _expr(self) -> _Node:
        return self._binary("+-", self._term)

    def _term(self) -> _Node:
        return self._binary("*/", self._factor)

    def _factor(self) -> _Node:
        token = self._peek()
        if token is None:
            raise FormulaError(f"công thức kết thúc đột ngột: {self.text!r}")
        self.pos += 1
        kind, value = token
        if kind == "num":
            return _Num(Fraction(value))
        if kind == "name":
            return _Var(value)
        if value == "(":
            node = self._expr()
            if self._peek() != ("op", ")"):
                raise FormulaError(f"thiếu dấu ')': {self.text!r}")
            self.pos += 1
            return node
        raise FormulaError(f"ký tự '{value}' không đúng chỗ: {self.text!r}")


def _names(node: _Node) -> tuple[str, ...]:
    if isinstance(node, _Var):
        return (node.name,)
    if isinstance(node, _BinOp):
        return tuple(dict.fromkeys(_names(node.left) + _names(node.right)))
    return ()


def _eval(node: _Node, values: Mapping[str, Fraction]) -> Fraction | None:
    if isinstance(node, _Num):
        return node.value
    if isinstance(node, _Var):
        return values.get(node.name)
    left, right = _eval(node.left, values), _eval(node.right, values)
    if left is None or right is None:
        return None
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return None if right == 0 else left / right


def _ratio_parts(node: _Node) -> tuple[_Node, _Node] | None:
    """The outermost division's (numerator, denominator), looking through a constant scale such as `* 100`."""
    if isinstance(node, _BinOp) and node.op == "/":
        return node.left, node.right
    if isinstance(node, _BinOp) and node.op == "*":
        if isinstance(node.right, _Num):
            return _ratio_parts(node.left)
        if isinstance(node.left, _Num):
            return _ratio_parts(node.right)
    return None


def numeric(value: Any) -> bool:
    """A reported figure: an int or float (bool is not a count; text and lists are not figures)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Formula:
    """A parsed catalogue formula: indicator keys, numbers, + - * / and parentheses; no eval()."""

    text: str
    tree: _Node = field(repr=False)
    names: tuple[str, ...]

    def evaluate(self, values: Mapping[str, Any]) -> float | None:
        """The formula's value, or None when a part is absent, null or not a number, or a divisor is 0.

        Arithmetic is exact (fractions) and rounded once to a float at the end, so the order of `/` and
        `* 100` does not change the last digit.
        """
        exact = self._exact(values)
        return None if exact is None else float(exact)

    def numerator_denominator(self, values: Mapping[str, Any]) -> tuple[float, float] | None:
        """The values of the outermost division's two sides (through `* 100`), or None (no division, or a part
        missing). Shown beside a ratio so a reader sees what it rests on."""
        parts = _ratio_parts(self.tree)
        if parts is None:
            return None
        exact = self._fractions(values)
        if exact is None:
            return None
        num, den = _eval(parts[0], exact), _eval(parts[1], exact)
        return None if num is None or den is None else (float(num), float(den))

    def _fractions(self, values: Mapping[str, Any]) -> dict[str, Fraction] | None:
        parts = {name: values.get(name) for name in self.names}
        if not all(numeric(v) for v in parts.values()):
            return None
        return {name: Fraction(v) for name, v in parts.items()}

    def _exact(self, values: Mapping[str, Any]) -> Fraction | None:
        exact = self._fractions(values)
        return None if exact is None else _eval(self.tree, exact)


@cache
def parse_formula(text: str) -> Formula:
    """Parse a catalogue formula once (`FormulaError` outside the syntax)."""
    tree = _Parser(text).parse()
    return Formula(text=text, tree=tree, names=_names(tree))


def evaluate_formula(text: str, values: Mapping[str, Any]) -> float | None:
    """A formula's value for these figures; None if a part is missing or a divisor is 0."""
    return parse_formula(text).evaluate(values)

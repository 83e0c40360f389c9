"""Circuits as data plus one `define(api)` (gnark's Define, arkworks' ConstraintSynthesizer).

A circuit is a dataclass. Fields made with `public()` or `secret()` are its inputs: an int, or a
(nested) list of ints whose length fixes the shape. Other fields are plain parameters (sizes,
widths). To compile, build the circuit with placeholder values of the right shape; to prove, with
the real assignment. Public inputs come first in the wire order (after the constant one), in
field order, then secret inputs, then wires made inside `define`.

    @dataclass
    class Square(Circuit):
        x: Input = secret()
        y: Input = public()

        def define(self, api: API) -> None:
            api.assert_equal(api.mul(self.x, self.x), self.y)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from .var import Var

if TYPE_CHECKING:
    from .template import Template

#: the type of an input field: an int (or a list of them) when assigned, a Var inside define()
Input = Any
PUBLIC, SECRET = "public", "secret"


def public(default: Any = 0) -> Any:
    """A public input field (an int, or a list for a vector)."""
    return _input(PUBLIC, default)


def secret(default: Any = 0) -> Any:
    """A secret input field (an int, or a list for a vector)."""
    return _input(SECRET, default)


def _input(visibility: str, default: Any) -> Any:
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"zkagg": visibility})
    return dataclasses.field(default=default, metadata={"zkagg": visibility})


class API(Protocol):
    """What `define` may call. Every engine implements it; gadgets take an `api` and nothing else."""

    def mul(self, a: Var | int, b: Var | int) -> Var: ...
    def assert_mul(self, a: Var | int, b: Var | int, c: Var | int) -> None: ...
    def assert_equal(self, a: Var | int, b: Var | int) -> None: ...
    def assert_bool(self, a: Var) -> None: ...
    def inverse(self, a: Var) -> Var: ...
    def hint(self, fn: Callable[[list[int]], list[int]], inputs: list[Var], n_out: int) -> list[Var]: ...
    def scope(self, label: str) -> AbstractContextManager[None]: ...
    def template(self, tpl: Template, inputs: Sequence[Var | int]) -> list[Var]: ...


class Circuit:
    """Base of circuit dataclasses: subclasses declare inputs with public()/secret() and
    implement `define`."""

    def define(self, api: API) -> None:
        raise NotImplementedError

    def input_fields(self, visibility: str) -> Iterator[dataclasses.Field[Any]]:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.metadata.get("zkagg") == visibility:
                yield f

"""The engines behind the circuit API: one `define`, three readings of it.

- Evaluator: plain integers. Computes every wire (the witness) and checks each constraint as it is
  made, so the first unsatisfied one is reported with its label path.
- R1CSBuilder: records the constraints as an R1CS.
- CostCounter: counts constraints per label path, records nothing else.

All three number wires identically, which is what lets the evaluator's witness be used with the
builder's R1CS: define() must not branch on values (hints are the only value-dependent part, and
they allocate a fixed number of wires).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import CircuitError, NonCanonicalError, UnsatisfiedConstraintError
from .define import PUBLIC, SECRET, Circuit
from .r1cs import R1CS
from .var import R, Var, as_var


class Engine:
    """Allocation, scopes and the API methods; subclasses say what a wire and a constraint are."""

    def __init__(self) -> None:
        self.n_wires = 1  # wire 0 is the constant one
        self.n_public = 0
        self.n_constraints = 0
        self._path: list[str] = []
        self._inputs_done = False

    # ---- hooks ----
    def _new_wire(self, value: Callable[[], int] | None) -> Var:
        index = self.n_wires
        self.n_wires += 1
        return Var.wire(index)

    def _emit(self, a: Var, b: Var, c: Var) -> None:
        self.n_constraints += 1

    def _hint_values(self, fn: Callable[[list[int]], list[int]], inputs: list[Var], n_out: int) -> list[int] | None:
        return None

    # ---- inputs ----
    def bind(self, circuit: Circuit) -> Circuit:
        """A copy of `circuit` whose input fields hold Vars (publics first, then secrets)."""
        if self._inputs_done:
            raise CircuitError("an engine binds one circuit")
        bound = copy.copy(circuit)
        for visibility in (PUBLIC, SECRET):
            for f in circuit.input_fields(visibility):
                value = self._alloc_tree(getattr(circuit, f.name), f.name, visibility)
                object.__setattr__(bound, f.name, value)
        self._inputs_done = True
        return bound

    def _alloc_tree(self, value: Any, name: str, visibility: str) -> Any:
        if isinstance(value, list):
            return [self._alloc_tree(v, f"{name}[{i}]", visibility) for i, v in enumerate(value)]
        if not isinstance(value, int) or isinstance(value, bool):
            raise CircuitError(f"input {name} must be an int or a list, not {type(value).__name__}")
        if not 0 <= value < R:
            raise NonCanonicalError(f"input {name} = {value} is outside [0, r)")
        if visibility == PUBLIC:
            self.n_public += 1
        return self._new_wire(lambda: value)

    # ---- the API ----
    @contextmanager
    def scope(self, label: str) -> Iterator[None]:
        self._path.append(label)
        try:
            yield
        finally:
            self._path.pop()

    @property
    def label(self) -> str:
        return "/".join(self._path)

    def mul(self, a: Var | int, b: Var | int) -> Var:
        a, b = as_var(a), as_var(b)
        if a.is_constant():
            return b * a.const
        if b.is_constant():
            return a * b.const
        c = self._new_wire(lambda: self.value(a) * self.value(b) % R)
        self._emit(a, b, c)
        return c

    def assert_mul(self, a: Var | int, b: Var | int, c: Var | int) -> None:
        a, b, c = as_var(a), as_var(b), as_var(c)
        if a.is_constant() and b.is_constant() and c.is_constant():
            if a.const * b.const % R != c.const:
                raise UnsatisfiedConstraintError(self.label, "constant constraint is false")
            return
        self._emit(a, b, c)

    def assert_equal(self, a: Var | int, b: Var | int) -> None:
        self.assert_mul(as_var(a) - as_var(b), 1, 0)

    def assert_bool(self, a: Var) -> None:
        self.assert_mul(a, as_var(a) - 1, 0)

    def inverse(self, a: Var) -> Var:
        """1/a, constrained a * inv = 1 (unsatisfiable for a = 0)."""
        (inv,) = self.hint(lambda v: [pow(v[0], -1, R) if v[0] else 0], [a], 1)
        self.assert_mul(a, inv, 1)
        return inv

    def hint(self, fn: Callable[[list[int]], list[int]], inputs: list[Var], n_out: int) -> list[Var]:
        """n_out new secret wires computed by fn from the input values, outside the constraints.
        The caller must constrain them in the same gadget."""
        values = self._hint_values(fn, inputs, n_out)
        if values is None:
            return [self._new_wire(None) for _ in range(n_out)]
        if len(values) != n_out or not all(isinstance(v, int) and 0 <= v < R for v in values):
            raise CircuitError(f"hint at {self.label} must return {n_out} field elements")
        return [self._new_wire(lambda v=v: v) for v in values]

    def value(self, v: Var) -> int:
        raise CircuitError(f"{type(self).__name__} has no values")


class Evaluator(Engine):
    """Computes the witness and checks every constraint when it is made."""

    def __init__(self) -> None:
        super().__init__()
        self.values = [1]

    def _new_wire(self, value: Callable[[], int] | None) -> Var:
        assert value is not None
        self.values.append(value())
        return super()._new_wire(value)

    def value(self, v: Var) -> int:
        vals = self.values
        return sum(c * vals[w] for w, c in v.terms.items()) % R

    def _emit(self, a: Var, b: Var, c: Var) -> None:
        super()._emit(a, b, c)
        left, right = self.value(a) * self.value(b) % R, self.value(c)
        if left != right:
            raise UnsatisfiedConstraintError(self.label, f"{left} != {right}")

    def _hint_values(self, fn: Callable[[list[int]], list[int]], inputs: list[Var], n_out: int) -> list[int]:
        return list(fn([self.value(as_var(x)) for x in inputs]))


class R1CSBuilder(Engine):
    """Records the constraints; `r1cs()` returns them in compact form."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict[int, int], dict[int, int], dict[int, int]]] = []
        self.labels: list[str] = []
        self._label_ids: dict[str, int] = {}
        self.row_labels: list[int] = []

    def _emit(self, a: Var, b: Var, c: Var) -> None:
        super()._emit(a, b, c)
        self.rows.append((a.terms, b.terms, c.terms))
        label = self.label
        lid = self._label_ids.get(label)
        if lid is None:
            lid = self._label_ids[label] = len(self.labels)
            self.labels.append(label)
        self.row_labels.append(lid)

    def r1cs(self) -> R1CS:
        return R1CS.from_rows(self.n_wires, self.n_public, self.rows, self.labels, self.row_labels)


class CostCounter(Engine):
    """Counts constraints per label path (`by_label`) and in total (`n_constraints`)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_label: Counter[str] = Counter()

    def _emit(self, a: Var, b: Var, c: Var) -> None:
        super()._emit(a, b, c)
        self.by_label[self.label] += 1


def evaluate(circuit: Circuit) -> list[int]:
    """The full witness [1, publics..., secrets..., internal...]; raises
    UnsatisfiedConstraintError naming the first failing constraint."""
    ev = Evaluator()
    circuit_vars = ev.bind(circuit)
    circuit_vars.define(ev)
    return ev.values


def compile_r1cs(circuit: Circuit) -> R1CS:
    b = R1CSBuilder()
    b.bind(circuit).define(b)
    return b.r1cs()


def count(circuit: Circuit) -> CostCounter:
    c = CostCounter()
    c.bind(circuit).define(c)
    return c

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import CircuitError, NonCanonicalError, UnsatisfiedConstraintError
from .define import PUBLIC, SECRET, Circuit
from .r1cs import R1CS, SparseMatrix
from .template import Template
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
        return [self._new_wire(_constant(v)) for v in values]

    def value(self, v: Var) -> int:
        raise CircuitError(f"{type(self).__name__} has no values")

    def template(self, tpl: Template, inputs: Sequence[Var | int]) -> list[Var]:
        """Instantiate a recorded gadget (see template.py); returns its outputs."""
        if len(inputs) != tpl.n_inputs:
            raise CircuitError(f"template {tpl.name} takes {tpl.n_inputs} inputs, not {len(inputs)}")
        ins = [self._wire_or_constant(as_var(x)) for x in inputs]
        rec = tpl.recording
        with self.scope(tpl.name):
            base = self.n_wires
            self._instantiate(tpl, ins, base)
            self.n_wires = base + rec.n_internal
        k = tpl.n_inputs
        out = []
        for lc in rec.outputs:
            acc = Var({})
            for w, c in lc.items():
                if w == 0:
                    acc = acc + c
                elif w <= k:
                    acc = acc + ins[w - 1] * c
                else:
                    acc = acc + Var.wire(base + w - k - 1) * c
            out.append(acc)
        return out

    def _wire_or_constant(self, x: Var) -> Var:
        if x.is_constant() or (len(x.terms) == 1 and next(iter(x.terms.values())) == 1):
            return x
        w = self._new_wire(lambda: self.value(x))
        self.assert_equal(w, x)
        return w

    def _instantiate(self, tpl: Template, ins: list[Var], base: int) -> None:
        """Account for the instance's constraints; subclasses also record or evaluate them."""
        self.n_constraints += tpl.recording.a.n_rows


def _constant(v: int) -> Callable[[], int]:
    return lambda: v


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

    def _instantiate(self, tpl: Template, ins: list[Var], base: int) -> None:
        super()._instantiate(tpl, ins, base)
        values = [self.value(x) for x in ins]
        if tpl.trace is not None:
            internal = tpl.trace(values)
        else:
            sub = Evaluator()
            sub._path = list(self._path)
            sub.values.extend(values)
            sub.n_wires += len(values)
            tpl.fn(sub, [Var.wire(1 + i) for i in range(len(values))])
            internal = sub.values[1 + len(values) :]
        if len(internal) != tpl.recording.n_internal:
            raise CircuitError(f"template {tpl.name} produced {len(internal)} wires, expected {tpl.recording.n_internal}")
        self.values.extend(internal)


class R1CSBuilder(Engine):
    """Records the constraints; `r1cs()` returns them in compact form."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict[int, int], dict[int, int], dict[int, int]]] = []
        self.labels: list[str] = []
        self._label_ids: dict[str, int] = {}
        self.row_labels: list[int] = []
        self._blocks: list[tuple[SparseMatrix, SparseMatrix, SparseMatrix, int]] = []

    def _label_id(self) -> int:
        label = self.label
        lid = self._label_ids.get(label)
        if lid is None:
            lid = self._label_ids[label] = len(self.labels)
            self.labels.append(label)
        return lid

    def _emit(self, a: Var, b: Var, c: Var) -> None:
        super()._emit(a, b, c)
        self.rows.append((a.terms, b.terms, c.terms))
        self.row_labels.append(self._label_id())

    def _flush(self) -> None:
        if self.rows:
            mats = [SparseMatrix.from_rows([r[i] for r in self.rows]) for i in range(3)]
            self._blocks.append((mats[0], mats[1], mats[2], -1))
            self.rows = []

    def _instantiate(self, tpl: Template, ins: list[Var], base: int) -> None:
        super()._instantiate(tpl, ins, base)
        self._flush()
        rec = tpl.recording
        k = tpl.n_inputs
        wire_map = np.empty(1 + k + rec.n_internal, dtype=np.int64)
        wire_map[0] = 0
        wire_map[k + 1 :] = np.arange(base, base + rec.n_internal)
        constants = {}
        for i, x in enumerate(ins):
            if x.is_constant():
                constants[i + 1] = x.const
                wire_map[i + 1] = 0
            else:
                wire_map[i + 1] = next(iter(x.terms))
        mats = [m.remap(wire_map, constants) for m in (rec.a, rec.b, rec.c)]
        self._blocks.append((mats[0], mats[1], mats[2], self._label_id()))

    def r1cs(self) -> R1CS:
        self._flush()
        row_labels = iter(self.row_labels)  # rows made one by one keep their own labels, in order
        labels = [
            np.full(a.n_rows, lid, dtype=np.int32) if lid >= 0
            else np.fromiter((next(row_labels) for _ in range(a.n_rows)), dtype=np.int32, count=a.n_rows)
            for a, _, _, lid in self._blocks
        ]
        return R1CS(
            self.n_wires,
            self.n_public,
            SparseMatrix.concat([blk[0] for blk in self._blocks]),
            SparseMatrix.concat([blk[1] for blk in self._blocks]),
            SparseMatrix.concat([blk[2] for blk in self._blocks]),
            tuple(self.labels),
            np.concatenate(labels) if labels else np.zeros(0, dtype=np.int32),
        )


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

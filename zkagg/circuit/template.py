"""Templates: a gadget recorded once and replayed many times (circom's templates).

A circuit that repeats a gadget thousands of times (Poseidon permutations in a sponge) would spend
most of its build time re-deriving the same constraints in Python. A Template records the gadget
once over fresh input wires; engines then replay it:
  - the R1CS builder copies the recorded rows, renaming wires with one numpy indexing step;
  - the evaluator computes the new wires with `trace` (a fast function from input values to the
    internal wire values, e.g. the native Poseidon trace) or, without one, by running the gadget
    on a private evaluator;
  - the cost counter adds the recorded count.
Wire numbering is identical in all engines: the internal wires of an instance are allocated in
one block, in recording order. Inputs must be single wires or constants; other linear
combinations are first materialized as a wire (one constraint).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .var import Var

if TYPE_CHECKING:
    from .define import API
    from .r1cs import SparseMatrix

GadgetFn = Callable[["API", list[Var]], Sequence[Var]]
TraceFn = Callable[[list[int]], list[int]]


@dataclass(frozen=True)
class Recording:
    n_internal: int
    a: SparseMatrix
    b: SparseMatrix
    c: SparseMatrix
    outputs: tuple[dict[int, int], ...]  # LCs over local wires: 0 one, 1..k inputs, k+1.. internal


@dataclass(eq=False)
class Template:
    """A gadget `fn(api, inputs) -> outputs` with a fixed number of inputs, recorded on first use.
    `trace`, if given, maps input values to the internal wire values in recording order."""

    name: str
    n_inputs: int
    fn: GadgetFn
    trace: TraceFn | None = None
    _recording: Recording | None = field(default=None, repr=False)

    @property
    def recording(self) -> Recording:
        if self._recording is None:
            from .engines import R1CSBuilder

            b = R1CSBuilder()
            inputs = [b._new_wire(None) for _ in range(self.n_inputs)]
            outputs = tuple(v.terms for v in self.fn(b, inputs))
            r = b.r1cs()
            self._recording = Recording(b.n_wires - 1 - self.n_inputs, r.a, r.b, r.c, outputs)
        return self._recording

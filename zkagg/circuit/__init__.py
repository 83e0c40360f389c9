"""The circuit layer: circuits as dataclasses with one `define(api)`, read by three engines
(evaluator, R1CS builder, cost counter)."""

from .define import API, Circuit, Input, public, secret
from .engines import CostCounter, Evaluator, R1CSBuilder, compile_r1cs, count, evaluate
from .r1cs import R1CS, SparseMatrix
from .var import Var

__all__ = [
    "API",
    "Circuit",
    "CostCounter",
    "Evaluator",
    "Input",
    "R1CS",
    "R1CSBuilder",
    "SparseMatrix",
    "Var",
    "compile_r1cs",
    "count",
    "evaluate",
    "public",
    "secret",
]

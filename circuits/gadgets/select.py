"""Conditional selection."""

from __future__ import annotations

from zkagg.circuit import API, Var
from zkagg.circuit.var import as_var


def select(api: API, cond: Var, if_true: Var | int, if_false: Var | int) -> Var:
    """cond ? if_true : if_false, as if_false + cond * (if_true - if_false).
    Precondition: cond is boolean (constrain it with api.assert_bool where it is made).
    Costs 1 constraint (0 when the branches are equal constants)."""
    t, f = as_var(if_true), as_var(if_false)
    with api.scope("select"):
        return f + api.mul(cond, t - f)

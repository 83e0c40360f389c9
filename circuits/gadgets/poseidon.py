"""Poseidon over BN254 in constraints: circomlib's permutation, hash and zkagg's sponge.

Costs (3 constraints per x^5 S-box, the linear layers are free):
    permutation of width t: 3 * (R_F * t + R_P)   e.g. t = 3: 243, t = 17: 612
    poseidon_hash(n inputs): one permutation of width n + 1
    sponge of L elements, width t: max(1, ceil(L / (t - 1))) permutations
      (t = 17: 38.25 constraints per absorbed element; t = 3: 121.5)
Preconditions: inputs are field elements (any Var); the sponge spec is in zkagg.poseidon.reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkagg.circuit import API, Var
from zkagg.circuit.var import as_var
from zkagg.poseidon.params import check_width, constants
from zkagg.poseidon.reference import DEFAULT_WIDTH


def sbox(api: API, x: Var) -> Var:
    """x^5 in 3 constraints."""
    x2 = api.mul(x, x)
    x4 = api.mul(x2, x2)
    return api.mul(x4, x)


def permute(api: API, state: Sequence[Var | int]) -> list[Var]:
    """The Poseidon permutation of width len(state)."""
    t = len(state)
    check_width(t)
    p = constants(t)
    s = [as_var(x) for x in state]
    half = p.rounds_f // 2
    with api.scope(f"poseidon{t}"):
        for k in range(p.rounds_f + p.rounds_p):
            s = [x + c for x, c in zip(s, p.round_constants[k * t : (k + 1) * t])]
            if half <= k < half + p.rounds_p:
                s[0] = sbox(api, s[0])
            else:
                s = [sbox(api, x) for x in s]
            s = [Var.combine(row, s) for row in p.mds]
    return s


def poseidon_hash(api: API, inputs: Sequence[Var | int]) -> Var:
    """circomlib's Poseidon(n) of 1..16 inputs."""
    return permute(api, [0, *inputs])[0]


def sponge(api: API, values: Sequence[Var | int], width: int = DEFAULT_WIDTH) -> Var:
    """zkagg's Poseidon sponge of a vector (length-prefixed capacity, zero padding)."""
    check_width(width)
    rate = width - 1
    state: list[Var] = [as_var(len(values))] + [Var({})] * rate
    with api.scope("sponge"):
        for start in range(0, max(len(values), 1), rate):
            block = values[start : start + rate]
            state = [state[0]] + [x + as_var(v) for x, v in zip(state[1:], block)] + state[1 + len(block) :]
            state = permute(api, state)
    return state[0]

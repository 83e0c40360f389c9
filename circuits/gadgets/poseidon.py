"""Poseidon over BN254 in constraints: circomlib's permutation, hash and zkagg's sponge.

Costs (3 constraints per x^5 S-box, the linear layers are free):
    permutation of width t: 3 * (R_F * t + R_P)   e.g. t = 3: 243, t = 17: 612
    poseidon_hash(n inputs): one permutation of width n + 1 (S-boxes of constants are free)
    sponge of L elements, width t: max(1, ceil(L / (t - 1))) permutations
      (t = 17: 38.25 constraints per absorbed element; t = 3: 121.5)
Preconditions: inputs are field elements (any Var); the sponge spec is in zkagg.poseidon.reference.

The sponge replays one template per block ("absorb a block, permute"). Its inputs are the
previous permutation's last S-box outputs (t wires; the state is their MDS image, a free linear
combination) and the block (t - 1 wires), so instances chain through wires and the builder copies
rows instead of re-deriving them. The evaluator takes each instance's wire values from
zkagg.poseidon.absorb_trace (the native core, unless the reference backend is selected). The first block starts from the constant state (L, 0, ..., 0),
passed as the constant inputs M^-1 (L, 0, ..., 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, partial

from zkagg.circuit import API, Var
from zkagg.circuit.template import Template
from zkagg.circuit.var import R, as_var
from zkagg.poseidon import absorb_trace
from zkagg.poseidon.optimize import mat_inv, mat_vec
from zkagg.poseidon.params import check_width, constants
from zkagg.poseidon.reference import DEFAULT_WIDTH


def sbox(api: API, x: Var) -> Var:
    """x^5 in 3 constraints."""
    x2 = api.mul(x, x)
    x4 = api.mul(x2, x2)
    return api.mul(x4, x)


def _rounds(api: API, state: list[Var]) -> list[Var]:
    """All rounds of the permutation except the final linear layer: the last S-box outputs."""
    t = len(state)
    p = constants(t)
    s = state
    half = p.rounds_f // 2
    last = p.rounds_f + p.rounds_p - 1
    for k in range(last + 1):
        s = [x + c for x, c in zip(s, p.round_constants[k * t : (k + 1) * t])]
        if half <= k < half + p.rounds_p:
            s[0] = sbox(api, s[0])
        else:
            s = [sbox(api, x) for x in s]
        if k < last:
            s = [Var.combine(row, s) for row in p.mds]
    return s


def permute(api: API, state: Sequence[Var | int]) -> list[Var]:
    """The Poseidon permutation of width len(state)."""
    t = len(state)
    check_width(t)
    with api.scope(f"poseidon{t}"):
        out = _rounds(api, [as_var(x) for x in state])
    return [Var.combine(row, out) for row in constants(t).mds]


def poseidon_hash(api: API, inputs: Sequence[Var | int]) -> Var:
    """circomlib's Poseidon(n) of 1..16 inputs."""
    return permute(api, [0, *inputs])[0]


@cache
def absorb_template(t: int) -> Template:
    """Template: inputs (previous last S-box outputs: t, block: t - 1) -> last S-box outputs."""
    mds = constants(t).mds

    def fn(api: API, ins: list[Var]) -> list[Var]:
        prev, block = ins[:t], ins[t:]
        state = [Var.combine(row, prev) for row in mds]
        state = [state[0]] + [x + b for x, b in zip(state[1:], block)]
        return _rounds(api, state)

    return Template(f"absorb{t}", 2 * t - 1, fn, trace=partial(absorb_trace, t))


@cache
def _start(t: int, length: int) -> list[int]:
    """M^-1 (length, 0, ..., 0): the 'previous S-box outputs' whose MDS image is the start state."""
    inv = mat_inv([list(r) for r in constants(t).mds])
    return mat_vec(inv, [length % R] + [0] * (t - 1))


def sponge(api: API, values: Sequence[Var | int], width: int = DEFAULT_WIDTH) -> Var:
    """zkagg's Poseidon sponge of a vector (length-prefixed capacity, zero padding)."""
    check_width(width)
    rate = width - 1
    tpl = absorb_template(width)
    prev: list[Var | int] = list(_start(width, len(values)))
    with api.scope("sponge"):
        for start in range(0, max(len(values), 1), rate):
            block = list(values[start : start + rate])
            block += [0] * (rate - len(block))
            prev = list(api.template(tpl, prev + block))
    return Var.combine(constants(width).mds[0], [as_var(x) for x in prev])

"""Readable pure-Python Poseidon over BN254 F_r: the twin of the native core.

Permutation (circomlib's, width t, constants from params.py): for each of the R_F + R_P rounds
k, add round_constants[k*t : (k+1)*t], apply x -> x^5 to every element in the first and last
R_F/2 (full) rounds and to state[0] only in the R_P partial rounds between them, then multiply
by the MDS matrix: state[i] <- sum_j M[i][j] * state[j]. (The last round has its MDS too.)

`poseidon_hash(inputs)` is circomlibjs's `poseidon(inputs)`: width t = len(inputs) + 1,
state = [0, *inputs], output state[0] after one permutation. `poseidon_ex(inputs, init_state,
n_out)` is `poseidon(inputs, initState, nOut)` (always returning a list of n_out elements).

zkagg's sponge for long vectors (our construction, pinned here and in tests/vectors):

    width t (2..17, default 17), capacity 1 = state[0], rate t - 1 = state[1..t-1].
    init:    state = [L, 0, ..., 0], L = the number of elements. Encoding the length in the
             capacity separates lengths, so the zero padding below is unambiguous
             ([a] and [a, 0] hash differently) without a padding marker.
    absorb:  split the vector into blocks of t - 1 elements, the last one zero-padded; an empty
             vector is one all-padding block. For each block: state[1 + i] += block[i] (mod r),
             then state = permute(state).
    output:  state[0] after the last permutation.

Every absorb step is circomlibjs `poseidon(state[1:] + block, state[0], t)` with `+` the
element-wise sum mod r (that is how tests/vectors/make_poseidon.mjs computes the sponge), and a
vector of exactly t - 1 elements hashes to `poseidon(vector, t - 1, 1)`. Inputs must be canonical (< r): nothing is reduced silently, since
x and x + r hashing alike would let two different vectors share one commitment.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError, LengthError, NonCanonicalError
from .params import MAX_WIDTH, R, PoseidonParams, check_width, constants

DEFAULT_WIDTH = 17


def check_canonical(values: Sequence[int], name: str) -> list[int]:
    """The values as a list, each an int in [0, r); NonCanonicalError names the first bad one."""
    out = list(values)
    for i, v in enumerate(out):
        if not isinstance(v, int) or isinstance(v, bool):
            raise NonCanonicalError(f"{name}[{i}] must be an int, not {type(v).__name__}")
        if not 0 <= v < R:
            raise NonCanonicalError(f"{name}[{i}] = {v} is outside [0, r)")
    return out


def _sbox(x: int) -> int:
    return pow(x, 5, R)


def permute_with(p: PoseidonParams, state: Sequence[int]) -> list[int]:
    """The Poseidon permutation of the instance p on a canonical state of width p.t."""
    t = p.t
    s = list(state)
    half = p.rounds_f // 2
    for k in range(p.rounds_f + p.rounds_p):
        c = p.round_constants[k * t : (k + 1) * t]
        s = [(x + ci) % R for x, ci in zip(s, c)]
        if half <= k < half + p.rounds_p:
            s[0] = _sbox(s[0])
        else:
            s = [_sbox(x) for x in s]
        s = [sum(m * x for m, x in zip(row, s)) % R for row in p.mds]
    return s


def permute(state: Sequence[int]) -> list[int]:
    """The circomlib Poseidon permutation of width len(state) (2..17)."""
    s = check_canonical(state, "state")
    check_width(len(s))
    return permute_with(constants(len(s)), s)


def poseidon_ex(inputs: Sequence[int], init_state: int = 0, n_out: int = 1) -> list[int]:
    """circomlibjs `poseidon(inputs, initState, nOut)`: the first n_out elements of
    permute([init_state, *inputs])."""
    vals = check_canonical(inputs, "inputs")
    if not 1 <= len(vals) <= MAX_WIDTH - 1:
        raise LengthError(f"inputs must hold 1 to {MAX_WIDTH - 1} elements, not {len(vals)}")
    (init,) = check_canonical([init_state], "init_state")
    if not isinstance(n_out, int) or isinstance(n_out, bool) or not 1 <= n_out <= len(vals) + 1:
        raise InputError(f"n_out must be an int in [1, {len(vals) + 1}], not {n_out!r}")
    return permute_with(constants(len(vals) + 1), [init, *vals])[:n_out]


def poseidon_hash(inputs: Sequence[int]) -> int:
    """circomlibjs `poseidon(inputs)` for 1..16 canonical inputs."""
    return poseidon_ex(inputs)[0]


def sponge(values: Sequence[int], width: int = DEFAULT_WIDTH) -> int:
    """zkagg's Poseidon sponge of a vector of any length (see the module doc)."""
    check_width(width)
    vals = check_canonical(values, "values")
    p = constants(width)
    rate = width - 1
    state = [len(vals)] + [0] * rate
    for start in range(0, max(len(vals), 1), rate):
        block = vals[start : start + rate]
        for i, v in enumerate(block):
            state[1 + i] = (state[1 + i] + v) % R
        state = permute_with(p, state)
    return state[0]

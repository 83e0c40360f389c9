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

`absorb_trace(t, values)` is the witness of one absorb step of the sponge gadget
(circuits/gadgets/poseidon.py): values = prev (t) + block (t - 1), the state is
M prev + (0, block) (prev being the previous permutation's last S-box outputs, whose MDS image is
the previous state), and the result lists x^2, x^4, x^5 for every S-box of the permutation in
order: all t elements (index order) in full rounds, element 0 in partial rounds.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError, LengthError, NonCanonicalError
from .params import MAX_WIDTH, PoseidonParams, R, check_width, constants

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


def ex_state(inputs: Sequence[int], init_state: int, n_out: int) -> list[int]:
    """The validated start state [init_state, *inputs] of poseidon_ex (shared by both engines)."""
    vals = check_canonical(inputs, "inputs")
    if not 1 <= len(vals) <= MAX_WIDTH - 1:
        raise LengthError(f"inputs must hold 1 to {MAX_WIDTH - 1} elements, not {len(vals)}")
    (init,) = check_canonical([init_state], "init_state")
    if not isinstance(n_out, int) or isinstance(n_out, bool) or not 1 <= n_out <= len(vals) + 1:
        raise InputError(f"n_out must be an int in [1, {len(vals) + 1}], not {n_out!r}")
    return [init, *vals]


def poseidon_ex(inputs: Sequence[int], init_state: int = 0, n_out: int = 1) -> list[int]:
    """circomlibjs `poseidon(inputs, initState, nOut)`: the first n_out elements of
    permute([init_state, *inputs])."""
    state = ex_state(inputs, init_state, n_out)
    return permute_with(constants(len(state)), state)[:n_out]


def poseidon_hash(inputs: Sequence[int]) -> int:
    """circomlibjs `poseidon(inputs)` for 1..16 canonical inputs."""
    return poseidon_ex(inputs)[0]


def trace_length(t: int) -> int:
    """The number of values absorb_trace returns for width t: 3 per S-box."""
    p = constants(t)
    return 3 * (p.rounds_f * t + p.rounds_p)


def absorb_trace(t: int, values: Sequence[int]) -> list[int]:
    """The internal wire values of one absorb step of width t (see the module doc)."""
    check_width(t)
    vals = check_canonical(values, "values")
    if len(vals) != 2 * t - 1:
        raise LengthError(f"values must hold 2t - 1 = {2 * t - 1} elements, not {len(vals)}")
    p = constants(t)
    prev, block = vals[:t], vals[t:]
    s = [sum(m * x for m, x in zip(row, prev)) % R for row in p.mds]
    s = [s[0]] + [(x + b) % R for x, b in zip(s[1:], block)]
    out: list[int] = []

    def box(x: int) -> int:
        x2 = x * x % R
        x4 = x2 * x2 % R
        x5 = x4 * x % R
        out.extend((x2, x4, x5))
        return x5

    half, last = p.rounds_f // 2, p.rounds_f + p.rounds_p - 1
    for k in range(last + 1):
        s = [(x + c) % R for x, c in zip(s, p.round_constants[k * t : (k + 1) * t])]
        if half <= k < half + p.rounds_p:
            s[0] = box(s[0])
        else:
            s = [box(x) for x in s]
        if k < last:  # the last linear layer is outside the step's wires
            s = [sum(m * x for m, x in zip(row, s)) % R for row in p.mds]
    return out


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

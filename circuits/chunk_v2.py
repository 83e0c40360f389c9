"""The v2 chunk circuit: one chunk of a round's aggregate, independent of clients and job.

Statement (DESIGN.md, "The statement (v2)"; design-notes/aggregation-v2.md §4.3), for a chunk
s in F_r^L:
    h = sponge(s)                 zkagg's length-prefixed circomlib Poseidon sponge (width 17)
    e = sum_{i < L} s_i z^i       Horner's rule, one constraint per element
Public inputs, in order: z, e, h. Witness: s. Nothing depends on the number of clients, the
model size, the job or the round: one Groth16 setup per chunk length L serves every job. The
chunk's place in the round is bound outside the circuit: the contract checks
sum_j z^(jL) e_j + rho z^B against a KZG opening of the clients' summed commitments at a z that
it derives from every h_j (zkagg.aggregation.kzg_round).

Cost (`n_constraints`, pinned by the tests): 612 per 16 absorbed elements for the sponge and 16
per block of 16 for Horner, plus the two output checks: 39.25 per packed element, so about 4.4
per model parameter at 9 parameters per element, whatever the number of clients.

Horner runs block by block, top block first, through a recorded template (like the sponge's),
so the R1CS builder copies rows instead of re-deriving them. A block takes the running value as
(p, c) with A = p + c (p the previous block's last product wire, c its lowest coefficient): both
stay single wires, so no constraint is spent materializing the accumulator between blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from zkagg.circuit import API, Circuit, Input, public, secret
from zkagg.circuit.template import Template
from zkagg.circuit.var import R, Var, as_var
from zkagg.errors import LengthError, check_int

from .gadgets import sponge

#: elements per Horner block (the sponge's rate, so both templates cover the same elements)
BLOCK = 16
#: constraints of one width-17 Poseidon permutation (absorbing BLOCK elements)
PERMUTATION_COST = 612


def n_constraints(chunk_len: int) -> int:
    """Constraints of the chunk circuit for chunks of `chunk_len` >= 1 elements (closed form,
    checked against the builder): sponge + Horner blocks + the checks of h and e."""
    check_int("chunk_len", chunk_len, 1)
    blocks = -(-chunk_len // BLOCK)
    return blocks * (PERMUTATION_COST + BLOCK) + 2


def horner_trace(values: list[int]) -> list[int]:
    """The internal wires of one Horner block, in recording order: the BLOCK products
    t_k z for k = 15..0 (inputs: p, c, z, b_0..b_15)."""
    p, c, z, block = values[0], values[1], values[2], values[3:]
    acc = (p + c) % R
    out = []
    for i in range(BLOCK - 1, 0, -1):
        prod = acc * z % R
        out.append(prod)
        acc = (prod + block[i]) % R
    out.append(acc * z % R)
    return out


@cache
def horner_template() -> Template:
    """Inputs (p, c, z, b_0..b_15) with A = p + c the value of the blocks above; outputs
    (p', c') with p' + c' = A z^16 + sum_i b_i z^i: p' the last product wire, c' = b_0."""

    def fn(api: API, ins: list[Var]) -> list[Var]:
        p, c, z, block = ins[0], ins[1], ins[2], ins[3:]
        acc = p + c
        for i in range(BLOCK - 1, 0, -1):
            acc = api.mul(acc, z) + block[i]
        return [api.mul(acc, z), block[0]]

    return Template("horner", 3 + BLOCK, fn, trace=horner_trace)


def horner(api: API, values: list[Var], z: Var) -> Var:
    """sum_i values[i] z^i in BLOCK constraints per block of BLOCK values (zero-padded)."""
    tpl = horner_template()
    p: Var | int = 0
    c: Var | int = 0
    with api.scope("horner"):
        for start in range(((len(values) - 1) // BLOCK) * BLOCK, -1, -BLOCK):
            block: list[Var | int] = list(values[start : start + BLOCK])
            block += [0] * (BLOCK - len(block))
            p, c = api.template(tpl, [p, c, z, *block])
    return as_var(p) + as_var(c)


@dataclass
class ChunkEvalCircuit(Circuit):
    """Public (z, e, h), secret s of `chunk_len` elements: h = sponge(s), e = s(z)."""

    chunk_len: int = 1
    z: Input = public()
    e: Input = public()
    h: Input = public()
    s: Input = secret([])

    def define(self, api: API) -> None:
        with api.scope("digest"):
            api.assert_equal(sponge(api, self.s), self.h)
        with api.scope("evaluation"):
            api.assert_equal(horner(api, list(self.s), self.z), self.e)


def chunk_circuit(chunk_len: int, z: int = 0, e: int = 0, h: int = 0, s: list[int] | None = None) -> ChunkEvalCircuit:
    """The circuit for chunks of `chunk_len` elements, with an assignment (zeros by default,
    enough to compile it)."""
    check_int("chunk_len", chunk_len, 1)
    if s is None:
        s = [0] * chunk_len
    if len(s) != chunk_len:
        raise LengthError(f"s must have {chunk_len} elements, not {len(s)}")
    return ChunkEvalCircuit(chunk_len=chunk_len, z=z, e=e, h=h, s=list(s))

"""The chunk circuit: one chunk of a round's aggregate, proved from the slots' commitments.

Statement (DESIGN.md, "The statement"), for chunk j of a round with n slots:
  for each slot k:  merkle_root(sponge(z_k), j, path_k) = a_k     (a_k: c_k, e_k, or the empty root)
  S = Σ_k z_k,  N = Σ_k w_k                                        (free: linear combinations)
  sponge(N, S) = output
Public inputs, in order: context = tag · 2^32 + j (tag: 221 bits binding job and round, see
`zkagg.aggregation.context`), the n slot commitments a_k, the n weights w_k (0 for a slot that
did not submit), and output. The verifying key is the job's own (one setup per job); the ledger
rebuilds every public input from what it recorded. Survivors (y_k), dropped slots (T_k) and empty
slots (zeros) use the same constraints.

Cost (`n_constraints`): about 38 constraints per slot element (width-17 sponge), divided by the
packing factor per client-parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkagg.circuit import API, Circuit, Input, public, secret
from zkagg.circuit.var import Var

from .gadgets import merkle_root, sponge, to_bits

#: bits of the chunk index at the bottom of the context
CHUNK_BITS = 32
#: bits of the whole context: below r, so its bit decomposition is unique and binds j
CONTEXT_BITS = 253


def n_constraints(n: int, chunk_len: int, depth: int) -> int:
    """The chunk circuit's constraint count for n >= 2 slots (with one, the sums are no new
    wires), in closed form (checked against the builder)."""
    def sponge_cost(length: int) -> int:
        return 612 * -(-length // 16)  # one width-17 permutation per 16 absorbed elements

    per_slot = sponge_cost(chunk_len) + 242 * depth + 1  # leaf, Merkle path, root check
    # the output: N and the L sums each made a wire, their sponge, its check; the context's
    # 253-bit decomposition and the zero chunk-index bits above the path's
    return n * per_slot + sponge_cost(chunk_len + 1) + chunk_len + 2 + (CONTEXT_BITS + 1) + (CHUNK_BITS - depth)


@dataclass
class ChunkCircuit(Circuit):
    n: int = 1  # slots
    chunk_len: int = 1  # L, elements per chunk
    depth: int = 1  # Merkle path length of the slot commitments
    context: Input = public()
    commitments: Input = public([])
    weights: Input = public([])
    output: Input = public()
    slots: Input = secret([])  # n lists of L elements
    paths: Input = secret([])  # n lists of depth siblings

    def define(self, api: API) -> None:
        with api.scope("context"):
            bits = to_bits(api, self.context, CONTEXT_BITS)
            for b in bits[self.depth : CHUNK_BITS]:  # j < 2^depth: one chunk, one index
                api.assert_equal(b, 0)
        index = bits[: self.depth]
        for k in range(self.n):
            with api.scope(f"slot{k}"):
                leaf = sponge(api, self.slots[k])
                api.assert_equal(merkle_root(api, leaf, index, self.paths[k]), self.commitments[k])
        total = [Var.combine([1] * self.n, [self.slots[k][i] for k in range(self.n)])
                 for i in range(self.chunk_len)]
        total_weight = Var.combine([1] * self.n, list(self.weights))
        with api.scope("output"):
            api.assert_equal(sponge(api, [total_weight, *total]), self.output)

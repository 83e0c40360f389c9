"""How a packed vector is cut into chunks and committed to: the commitment the chunk circuit opens.

A vector of `n_elements` F_r elements is zero-padded to `n_chunks · chunk_len` and cut into chunks
of `chunk_len`. Leaf j is the Poseidon sponge of chunk j; the commitment is the Poseidon Merkle
root over the leaves (zkagg.poseidon.merkle: zero leaves pad to a power of two, depth ≥ 1).
Clients commit to their masked vector (c_u) and total mask (e_u) with `commit`; the proof of
chunk j shows that the slot's chunk data hashes to leaf j under the slot's commitment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bn254.field import FrArray
from ..errors import InputError, LengthError, check_int
from ..poseidon import merkle, poseidon_sponge_many


@dataclass(frozen=True)
class ChunkLayout:
    n_elements: int
    chunk_len: int

    def __post_init__(self) -> None:
        check_int("n_elements", self.n_elements, 1)
        check_int("chunk_len", self.chunk_len, 1)

    @property
    def n_chunks(self) -> int:
        return -(-self.n_elements // self.chunk_len)

    @property
    def depth(self) -> int:
        """Merkle path length: the tree has max(2, next power of two ≥ n_chunks) leaves."""
        return max(1, (self.n_chunks - 1).bit_length())

    def chunk(self, vector: FrArray, j: int) -> FrArray:
        """Chunk j of the vector, zero-padded to chunk_len."""
        self._check(vector)
        if not 0 <= j < self.n_chunks:
            raise InputError(f"chunk index must be in [0, {self.n_chunks}), got {j}")
        part = vector[j * self.chunk_len : (j + 1) * self.chunk_len]
        if len(part) == self.chunk_len:
            return part
        padded = np.zeros((self.chunk_len, 4), dtype=np.uint64)
        padded[: len(part)] = part.limbs
        return FrArray(padded)

    def leaves(self, vector: FrArray) -> list[int]:
        return poseidon_sponge_many([self.chunk(vector, j) for j in range(self.n_chunks)])

    def commit(self, vector: FrArray) -> int:
        """The Merkle root over the chunk hashes: a client's c_u or e_u."""
        return merkle.merkle_root(self.leaves(vector))

    def path(self, leaves: list[int], j: int) -> list[int]:
        return merkle.merkle_path(leaves, j)

    def _check(self, vector: FrArray) -> None:
        if not isinstance(vector, FrArray) or len(vector) != self.n_elements:
            raise LengthError(f"expected an FrArray of {self.n_elements} elements")

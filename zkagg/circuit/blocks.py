"""An R1CS kept as the blocks the builder made, for proving large template-heavy circuits in
bounded memory (the v2 chunk circuit at 2^21 constraints and more).

The R1CS builder replays a template by renaming the wires of its recorded rows: each instance
has its own column array (4 bytes per entry) but shares the recording's row pointers and
coefficients (32 bytes per entry). `compile_r1cs` then concatenates every block into three CSR
matrices, which copies every coefficient once per instance: for the v2 chunk circuit, about 36
entries per constraint, 1.3 KB per constraint. `BlockR1CS` keeps the blocks instead (about
0.15 KB per constraint for the chunk circuit) and computes (A z, B z, C z) block by block, which
is all the prover needs. Setup still needs the whole matrices (`materialize()`): it runs once
per circuit, the proving key it makes serves every proof.

`prove(pk, block_r1cs, witness)` works as with an R1CS (same rows, same labels for a failing
constraint): BlockR1CS has the members the prover reads (n_wires, n_public, n_constraints,
rows, first_failing_row, label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..bn254 import FrArray
from ..errors import LengthError
from .define import Circuit
from .engines import R1CSBuilder
from .r1cs import R1CS, SparseMatrix

Block = tuple[SparseMatrix, SparseMatrix, SparseMatrix]


@dataclass(frozen=True)
class BlockR1CS:
    n_wires: int
    n_public: int
    blocks: tuple[Block, ...]
    labels: tuple[str, ...]
    row_labels: npt.NDArray[np.int32]

    @property
    def n_constraints(self) -> int:
        return len(self.row_labels)

    def label(self, row: int) -> str:
        return self.labels[int(self.row_labels[row])] if self.labels else ""

    first_failing_row = staticmethod(R1CS.first_failing_row)

    def rows(self, z: FrArray) -> tuple[FrArray, FrArray, FrArray]:
        """(A z, B z, C z): one value per constraint, computed block by block."""
        if len(z) != self.n_wires:
            raise LengthError(f"witness has {len(z)} wires, the R1CS {self.n_wires}")
        out = []
        for k in range(3):
            parts = [blk[k].mul(z).limbs for blk in self.blocks]
            limbs = np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.uint64)
            out.append(FrArray._trusted(limbs))
        return out[0], out[1], out[2]

    def materialize(self) -> R1CS:
        """The same system as one R1CS (what setup needs)."""
        a, b, c = (SparseMatrix.concat([blk[k] for blk in self.blocks]) for k in range(3))
        return R1CS(self.n_wires, self.n_public, a, b, c, self.labels, self.row_labels)

    def nbytes(self) -> int:
        """Bytes held by the blocks (arrays shared between blocks counted once)."""
        seen: set[int] = set()
        total = 0
        for blk in self.blocks:
            for m in blk:
                for arr in (m.row_ptr, m.cols, m.coeffs):
                    base = arr.base if arr.base is not None else arr
                    if id(base) not in seen:
                        seen.add(id(base))
                        total += arr.nbytes
        return total


class BlockR1CSBuilder(R1CSBuilder):
    """The R1CS builder, returning its blocks unconcatenated."""

    def block_r1cs(self) -> BlockR1CS:
        self._flush()
        row_labels = iter(self.row_labels)
        labels = [
            np.full(a.n_rows, lid, dtype=np.int32) if lid >= 0
            else np.fromiter((next(row_labels) for _ in range(a.n_rows)), dtype=np.int32, count=a.n_rows)
            for a, _, _, lid in self._blocks
        ]
        return BlockR1CS(self.n_wires, self.n_public, tuple((a, b, c) for a, b, c, _ in self._blocks),
                         tuple(self.labels), np.concatenate(labels) if labels else np.zeros(0, dtype=np.int32))


def compile_blocks(circuit: Circuit) -> BlockR1CS:
    """The circuit's constraints as a BlockR1CS (see the module doc)."""
    b = BlockR1CSBuilder()
    b.bind(circuit).define(b)
    return b.block_r1cs()

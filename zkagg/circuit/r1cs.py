"""Rank-1 constraint systems in compact form: <A_i, z> * <B_i, z> = <C_i, z> for every row i,
where z = [1, public inputs..., secret wires...]."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..bn254 import FrArray, get_backend
from ..bn254.backend import CSR
from ..bn254.constants import FR_MODULUS
from ..bn254.limbs import limbs_to_ints
from ..errors import InputError, LengthError

R = FR_MODULUS


@dataclass(frozen=True)
class SparseMatrix:
    """CSR rows: row i has columns cols[row_ptr[i]:row_ptr[i+1]] with canonical coefficients
    (4 little-endian limbs each)."""

    row_ptr: npt.NDArray[np.int64]
    cols: npt.NDArray[np.uint32]
    coeffs: npt.NDArray[np.uint64]

    @classmethod
    def from_rows(cls, rows: Sequence[dict[int, int]]) -> SparseMatrix:
        row_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=row_ptr[1:])
        cols = np.fromiter((w for r in rows for w in sorted(r)), dtype=np.uint32, count=int(row_ptr[-1]))
        raw = b"".join(r[w].to_bytes(32, "little") for r in rows for w in sorted(r))
        coeffs = np.frombuffer(raw, dtype="<u8").reshape(-1, 4).astype(np.uint64)
        return cls(row_ptr, cols, coeffs)

    @property
    def nnz(self) -> int:
        return int(self.row_ptr[-1])

    def row(self, i: int) -> dict[int, int]:
        lo, hi = int(self.row_ptr[i]), int(self.row_ptr[i + 1])
        out: dict[int, int] = {}
        for w, c in zip(self.cols[lo:hi].tolist(), limbs_to_ints(self.coeffs[lo:hi])):
            out[w] = (out.get(w, 0) + c) % R
        return {w: c for w, c in out.items() if c}

    def remap(self, wire_map: npt.NDArray[np.int64], constants: dict[int, int]) -> SparseMatrix:
        """The same rows over other wires: column j becomes wire_map[j]; a column listed in
        `constants` is folded into the constant column 0, scaled by its value."""
        distinct = len(set(wire_map[1:].tolist()) - {0}) == int(np.count_nonzero(wire_map[1:]))
        if not constants and distinct:
            return SparseMatrix(self.row_ptr, wire_map[self.cols].astype(np.uint32), self.coeffs)
        rows = []
        for i in range(self.n_rows):
            row: dict[int, int] = {}
            for w, c in self.row(i).items():
                target = int(wire_map[w])
                c = c * constants[w] % R if w in constants else c
                row[target] = (row.get(target, 0) + c) % R
            rows.append({w: c for w, c in row.items() if c})
        return SparseMatrix.from_rows(rows)

    @staticmethod
    def concat(parts: Sequence[SparseMatrix]) -> SparseMatrix:
        """The rows of all parts, in order."""
        if not parts:
            return SparseMatrix.from_rows([])
        offsets = np.cumsum([0] + [p.nnz for p in parts[:-1]])
        return SparseMatrix(
            np.concatenate([np.zeros(1, dtype=np.int64)] + [p.row_ptr[1:] + o for p, o in zip(parts, offsets)]),
            np.concatenate([p.cols for p in parts]),
            np.concatenate([p.coeffs for p in parts]),
        )

    @property
    def n_rows(self) -> int:
        return len(self.row_ptr) - 1

    def csr(self) -> CSR:
        return (self.row_ptr, self.cols, self.coeffs)

    def mul(self, x: FrArray) -> FrArray:
        """M x (one entry per row)."""
        return FrArray._trusted(get_backend().fr_csr_mul(self.csr(), x.limbs))

    def mul_transposed(self, x: FrArray, n_cols: int) -> FrArray:
        """M^T x (one entry per column)."""
        if len(x) != self.n_rows:
            raise LengthError(f"vector has {len(x)} entries, the matrix {self.n_rows} rows")
        return FrArray._trusted(get_backend().fr_csr_mul_t(self.csr(), x.limbs, n_cols))

    def append_rows(self, rows: Sequence[dict[int, int]]) -> SparseMatrix:
        extra = SparseMatrix.from_rows(rows)
        return SparseMatrix(
            np.concatenate([self.row_ptr, extra.row_ptr[1:] + self.row_ptr[-1]]),
            np.concatenate([self.cols, extra.cols]),
            np.concatenate([self.coeffs, extra.coeffs]),
        )


@dataclass(frozen=True)
class R1CS:
    n_wires: int  # including the constant-one wire 0
    n_public: int  # public inputs: wires 1..n_public
    a: SparseMatrix
    b: SparseMatrix
    c: SparseMatrix
    labels: tuple[str, ...]  # distinct label paths
    row_labels: npt.NDArray[np.int32]  # label index of each constraint

    @classmethod
    def from_rows(
        cls,
        n_wires: int,
        n_public: int,
        rows: Sequence[tuple[dict[int, int], dict[int, int], dict[int, int]]],
        labels: Sequence[str],
        row_labels: Sequence[int],
    ) -> R1CS:
        return cls(
            n_wires,
            n_public,
            SparseMatrix.from_rows([r[0] for r in rows]),
            SparseMatrix.from_rows([r[1] for r in rows]),
            SparseMatrix.from_rows([r[2] for r in rows]),
            tuple(labels),
            np.asarray(row_labels, dtype=np.int32),
        )

    @property
    def n_constraints(self) -> int:
        return len(self.row_labels)

    def label(self, row: int) -> str:
        return self.labels[int(self.row_labels[row])] if self.labels else ""

    def check_witness_shape(self, z: FrArray) -> None:
        if len(z) != self.n_wires:
            raise LengthError(f"witness has {len(z)} wires, the R1CS {self.n_wires}")
        if len(z) == 0 or z[0] != 1:
            raise InputError("witness[0] must be 1 (the constant wire)")

    def rows(self, z: FrArray) -> tuple[FrArray, FrArray, FrArray]:
        """(A z, B z, C z): one value per constraint."""
        self.check_witness_shape(z)
        return self.a.mul(z), self.b.mul(z), self.c.mul(z)

    @staticmethod
    def first_failing_row(az: FrArray, bz: FrArray, cz: FrArray) -> int:
        bad = np.flatnonzero((az * bz - cz).limbs.any(axis=1))
        return int(bad[0]) if bad.size else -1

    def first_unsatisfied(self, z: FrArray) -> int:
        """Index of the first violated constraint for the full witness z, or -1."""
        return self.first_failing_row(*self.rows(z))

"""circom/snarkjs binary files: `.r1cs` (constraint system) and `.wtns` (witness).

Both are iden3 "binfile" containers: a 4-byte magic, a u32 version, a u32 section count, then
sections of (u32 type, u64 size, data), all little-endian. Field elements are 32-byte
little-endian integers in standard (not Montgomery) form.

.r1cs sections: 1 header (n8, prime, nWires, nPubOut, nPubIn, nPrvIn, nLabels u64,
nConstraints), 2 constraints (per constraint the A, B, C linear combinations: u32 term count,
then u32 wire id + n8-byte coefficient per term), 3 wire-to-label map (u64 per wire).
.wtns sections: 1 header (n8, prime, nWitness), 2 the values.
Wire order is the same as zkagg's: the constant one, the public outputs and inputs, the rest.
Refused by name: files over another field (e.g. Goldilocks), and .r1cs files with custom gates
(sections 4/5, circom's PLONK custom templates): their constraints are not in section 2, so
reading only section 2 would drop them and a witness violating them would prove.
.sym files (labelIdx,varIdx,componentIdx,name per line) name the signals: an unsatisfied
constraint is then reported with the signals it involves.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..bn254 import FR_MODULUS, FrArray
from ..errors import InputError, LengthError
from .r1cs import R1CS, SparseMatrix

N8 = 32
PRIME = FR_MODULUS.to_bytes(N8, "little")
KNOWN_FIELDS = {2**64 - 2**32 + 1: "Goldilocks",
                0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001: "BLS12-381's scalar field",
                2**31 - 1: "Mersenne-31", 2**31 - 2**27 + 1: "BabyBear"}


class CircomFormatError(InputError):
    """A circom/snarkjs file zkagg cannot use: wrong magic or field, custom gates, bad sizes."""


def _container(magic: bytes, version: int, sections: Sequence[tuple[int, bytes]]) -> bytes:
    out = [magic, struct.pack("<II", version, len(sections))]
    for kind, data in sections:
        out.append(struct.pack("<IQ", kind, len(data)))
        out.append(data)
    return b"".join(out)


def _sections(data: bytes, magic: bytes, what: str) -> dict[int, bytes]:
    if data[:4] != magic:
        raise CircomFormatError(f"{what}: not a {magic.decode()} file")
    if len(data) < 12:
        raise LengthError(f"{what}: truncated header")
    _, n = struct.unpack_from("<II", data, 4)
    pos, out = 12, {}
    for _ in range(n):
        if pos + 12 > len(data):
            raise LengthError(f"{what}: truncated section header")
        kind, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if pos + size > len(data):
            raise LengthError(f"{what}: section {kind} is truncated")
        out[kind] = data[pos : pos + size]
        pos += size
    return out


def _header_and_body(data: bytes, magic: bytes, fields_size: int) -> tuple[bytes, bytes]:
    """Section 1 past its (n8, prime) prefix, checked to be BN254's F_r and to hold
    `fields_size` more bytes, and section 2."""
    what = magic.decode()
    sec = _sections(data, magic, what)
    if 1 not in sec or 2 not in sec:
        raise InputError(f"{what}: header or data section missing")
    h = sec[1]
    if len(h) < 4:
        raise LengthError(f"{what}: header section has the wrong size")
    n8 = struct.unpack_from("<I", h, 0)[0]
    prime = int.from_bytes(h[4 : 4 + n8], "little") if 0 < n8 <= len(h) - 4 else None
    if n8 != N8 or h[4 : 4 + N8] != PRIME:
        name = KNOWN_FIELDS.get(prime, f"a {8 * n8}-bit prime") if prime is not None else "an unreadable prime"
        raise CircomFormatError(f"{what}: wrong field: the file is over {name}; zkagg needs BN254's scalar field "
                                "(compile with circom --prime bn128)")
    if len(h) != 4 + N8 + fields_size:
        raise LengthError(f"{what}: header section has the wrong size")
    if magic == b"r1cs" and (4 in sec or 5 in sec):
        raise CircomFormatError(f"{what}: custom gates (sections 4/5) are not supported: their constraints are "
                                "not in section 2 and would be dropped (compile without custom templates)")
    return h[4 + N8 :], sec[2]


# ---- .r1cs ----

def _lc_bytes(m: SparseMatrix, i: int) -> bytes:
    lo, hi = int(m.row_ptr[i]), int(m.row_ptr[i + 1])
    parts = [struct.pack("<I", hi - lo)]
    for k in range(lo, hi):
        parts.append(struct.pack("<I", int(m.cols[k])))
        parts.append(m.coeffs[k].astype("<u8").tobytes())
    return b"".join(parts)


def r1cs_to_bytes(r1cs: R1CS) -> bytes:
    header = struct.pack("<I", N8) + PRIME + struct.pack(
        "<IIIIQI", r1cs.n_wires, 0, r1cs.n_public, 0, r1cs.n_wires, r1cs.n_constraints
    )
    constraints = b"".join(
        _lc_bytes(r1cs.a, i) + _lc_bytes(r1cs.b, i) + _lc_bytes(r1cs.c, i) for i in range(r1cs.n_constraints)
    )
    labels = np.arange(r1cs.n_wires, dtype="<u8").tobytes()
    return _container(b"r1cs", 1, [(1, header), (2, constraints), (3, labels)])


def read_sym(path: str | Path) -> dict[int, str]:
    """Wire index -> signal name from a circom .sym file (signals optimized away are skipped)."""
    names: dict[int, str] = {}
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise CircomFormatError(f"{path}: cannot read the .sym file ({err})") from err
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(",", 3)
        try:
            var = int(parts[1])
        except (IndexError, ValueError) as err:
            raise CircomFormatError(f"{path}:{n}: not a .sym line (labelIdx,varIdx,componentIdx,name)") from err
        if len(parts) != 4:
            raise CircomFormatError(f"{path}:{n}: not a .sym line (labelIdx,varIdx,componentIdx,name)")
        if var >= 0:
            names.setdefault(var, parts[3])
    return names


def _row_label(i: int, lcs: Sequence[dict[int, int]], names: Mapping[int, str]) -> str:
    wires = sorted({w for lc in lcs for w in lc if w})
    shown = ", ".join(names.get(w, f"wire {w}") for w in wires[:6]) + (", ..." if len(wires) > 6 else "")
    return f"circom constraint {i} ({shown})"


def r1cs_from_bytes(data: bytes, names: Mapping[int, str] | None = None) -> R1CS:
    """The R1CS of a circom .r1cs file; `names` (from read_sym) labels each constraint with the
    signals it involves, so an unsatisfied witness names them."""
    what = "r1cs"
    fields, body = _header_and_body(data, b"r1cs", 28)
    n_wires, n_out, n_in, _, _, n_constraints = struct.unpack_from("<IIIIQI", fields, 0)
    pos = 0
    rows: list[tuple[dict[int, int], dict[int, int], dict[int, int]]] = []
    try:
        for _ in range(n_constraints):
            lcs = []
            for _ in range(3):
                (n_terms,) = struct.unpack_from("<I", body, pos)
                pos += 4
                lc: dict[int, int] = {}
                for _ in range(n_terms):
                    (wire,) = struct.unpack_from("<I", body, pos)
                    coeff = int.from_bytes(body[pos + 4 : pos + 4 + N8], "little")
                    pos += 4 + N8
                    if wire >= n_wires or coeff >= FR_MODULUS:
                        raise InputError(f"{what}: term with wire {wire} or a non-canonical coefficient")
                    if coeff:
                        lc[wire] = (lc.get(wire, 0) + coeff) % FR_MODULUS
                lcs.append(lc)
            rows.append((lcs[0], lcs[1], lcs[2]))
    except struct.error as err:
        raise LengthError(f"{what}: constraints section is truncated") from err
    if pos != len(body):
        raise LengthError(f"{what}: constraints section has trailing bytes")
    if names:
        labels = [_row_label(i, r, names) for i, r in enumerate(rows)]
        return R1CS.from_rows(n_wires, n_out + n_in, rows, labels, list(range(len(rows))))
    return R1CS.from_rows(n_wires, n_out + n_in, rows, ["circom"], [0] * len(rows))


# ---- .wtns ----

def wtns_to_bytes(witness: FrArray | Sequence[int]) -> bytes:
    z = witness if isinstance(witness, FrArray) else FrArray.from_ints(witness)
    header = struct.pack("<I", N8) + PRIME + struct.pack("<I", len(z))
    return _container(b"wtns", 2, [(1, header), (2, z.limbs.astype("<u8").tobytes())])


def wtns_from_bytes(data: bytes) -> FrArray:
    fields, body = _header_and_body(data, b"wtns", 4)
    (n,) = struct.unpack_from("<I", fields, 0)
    if len(body) != n * N8:
        raise LengthError(f"wtns: expected {n} values")
    return FrArray(np.frombuffer(body, dtype="<u8").reshape(n, 4).astype(np.uint64))


def write_r1cs(path: str | Path, r1cs: R1CS) -> None:
    Path(path).write_bytes(r1cs_to_bytes(r1cs))


def read_r1cs(path: str | Path, sym: str | Path | None = None) -> R1CS:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise CircomFormatError(f"{path}: cannot read ({err.strerror})") from err
    return r1cs_from_bytes(data, read_sym(sym) if sym is not None else None)


def write_wtns(path: str | Path, witness: FrArray | Sequence[int]) -> None:
    Path(path).write_bytes(wtns_to_bytes(witness))


def read_wtns(path: str | Path) -> FrArray:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise CircomFormatError(f"{path}: cannot read ({err.strerror})") from err
    return wtns_from_bytes(data)

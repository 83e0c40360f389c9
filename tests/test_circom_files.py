"""circom files zkagg cannot use safely are refused by name; .sym names unsatisfied signals."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from zkagg.circuit.circom import CircomFormatError, r1cs_from_bytes, read_r1cs, read_sym, read_wtns
from zkagg.errors import UnsatisfiedConstraintError
from zkagg.groth16 import insecure_single_party_setup, prove

VEC = Path(__file__).parent / "vectors" / "zkey"


def with_sections(data: bytes, extra: list[tuple[int, bytes]]) -> bytes:
    (n,) = struct.unpack_from("<I", data, 8)
    body = b"".join(struct.pack("<IQ", k, len(b)) + b for k, b in extra)
    return data[:8] + struct.pack("<I", n + len(extra)) + data[12:] + body


def test_custom_gates_are_refused() -> None:
    data = (VEC / "st.r1cs").read_bytes()
    gates = struct.pack("<I", 1) + b"CMul\x00" + struct.pack("<I", 0)
    uses = struct.pack("<I", 1) + struct.pack("<III", 0, 4, 5)
    with pytest.raises(CircomFormatError, match="custom gates"):
        r1cs_from_bytes(with_sections(data, [(4, gates), (5, uses)]))
    with pytest.raises(CircomFormatError, match="custom gates"):
        r1cs_from_bytes(with_sections(data, [(5, uses)]))
    # control: the weak reading (section 2 only) accepts the file and silently loses the gates
    assert r1cs_from_bytes(data).n_constraints == 3


@pytest.mark.parametrize("n8,prime,name", [(8, 2**64 - 2**32 + 1, "Goldilocks"), (32, 2**255 - 19, "a 256-bit prime")])
def test_other_fields_get_the_wrong_field_message(n8: int, prime: int, name: str) -> None:
    data = (VEC / "st.r1cs").read_bytes()
    off = 12 + 12  # the header is the first section
    (size,) = struct.unpack_from("<Q", data, 16)
    header = data[off : off + size]
    new = struct.pack("<I", n8) + prime.to_bytes(n8, "little") + header[4 + 32 :]
    patched = data[:16] + struct.pack("<Q", len(new)) + new + data[off + size :]
    with pytest.raises(CircomFormatError, match=f"wrong field: the file is over {name}"):
        r1cs_from_bytes(patched)


def test_sym_names_the_unsatisfied_signals(tmp_path: Path) -> None:
    sym = tmp_path / "st.sym"
    sym.write_text("1,1,0,main.a\n2,2,0,main.b\n3,3,0,main.c\n4,4,0,main.x\n5,5,0,main.y\n6,-1,0,main.gone\n")
    assert read_sym(sym)[3] == "main.c" and -1 not in read_sym(sym)
    r1cs = read_r1cs(VEC / "st.r1cs", sym)
    pk = insecure_single_party_setup(r1cs)
    w = read_wtns(VEC / "st.wtns").to_ints()
    w[3] += 1  # c = a + b + 7 no longer holds
    with pytest.raises(UnsatisfiedConstraintError, match=r"circom constraint 2 \(main.a, main.b, main.c\)"):
        prove(pk, r1cs, w)
    bad = tmp_path / "bad.sym"
    bad.write_text("not a sym line\n")
    with pytest.raises(CircomFormatError, match="not a .sym line"):
        read_sym(bad)


def test_missing_files_are_one_named_error(tmp_path: Path) -> None:
    with pytest.raises(CircomFormatError, match="cannot read"):
        read_r1cs(tmp_path / "none.r1cs")
    with pytest.raises(CircomFormatError, match="cannot read"):
        read_wtns(tmp_path / "none.wtns")

"""Hostile .ptau/.zkey bytes: every reader either accepts or raises one ZkaggError subclass."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from zkagg.ceremony import ptau, zkey
from zkagg.circuit.circom import r1cs_from_bytes, wtns_from_bytes
from zkagg.errors import ZkaggError

VEC = Path(__file__).parent / "vectors"
PTAU = (VEC / "ptau" / "pot8_b.ptau").read_bytes()
ZKEY = (VEC / "zkey" / "st_b.zkey").read_bytes()
R1CS = (VEC / "zkey" / "st.r1cs").read_bytes()
WTNS = (VEC / "zkey" / "st.wtns").read_bytes()


def mutate(data: bytes, cut: int, flips: list[tuple[int, int]], header_word: int | None) -> bytes:
    b = bytearray(data[: max(0, len(data) - cut)] if cut >= 0 else data + bytes(-cut))
    for pos, val in flips:
        if b:
            b[pos % len(b)] ^= val or 1
    if header_word is not None and len(b) >= 24:  # a section size or type word
        b[12 + header_word % 12] ^= 0x80
    return bytes(b)


mutations = st.tuples(st.integers(-64, 400), st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)),
                                                      max_size=3), st.none() | st.integers(0, 100))


@settings(max_examples=150, deadline=None)
@given(mutations)
def test_ptau_reader_raises_only_named_errors(m: tuple) -> None:
    try:
        ptau.parse(mutate(PTAU, *m))
    except ZkaggError:
        pass


@settings(max_examples=300, deadline=None)
@given(mutations)
def test_zkey_and_circom_readers_raise_only_named_errors(m: tuple) -> None:
    for reader, data in ((zkey.parse, ZKEY), (r1cs_from_bytes, R1CS), (wtns_from_bytes, WTNS)):
        try:
            reader(mutate(data, *m))
        except ZkaggError:
            pass

"""The versioned wire format: round trips, and every malformed input is a MessageFormatError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkagg.bn254.constants import FR_MODULUS
from zkagg.bn254.field import FrArray
from zkagg.errors import MessageFormatError
from zkagg.secagg.messages import (
    AGGREGATOR,
    InputRequest,
    KeyAdvert,
    KeyBroadcast,
    MaskedInput,
    MaskSetNotice,
    Message,
    ShareBundle,
    ShareDelivery,
    UnmaskRequest,
    UnmaskShares,
    decode,
    encode,
)

H = {"job_id": bytes(range(32)), "round": 2**40 + 3}
SAMPLES: list[Message] = [
    KeyAdvert(**H, sender=4, mask_key=b"m" * 32, share_key=b"s" * 32, signature=b"g" * 65),
    KeyBroadcast(**H, sender=AGGREGATOR, keys={1: (b"a" * 32, b"b" * 32, b"e" * 64),
                                               9: (b"c" * 32, b"d" * 32, b"f" * 65)}),
    ShareBundle(**H, sender=1, shares={2: b"x" * 80, 3: b"y" * 80}),
    ShareDelivery(**H, sender=AGGREGATOR, shares={}),
    MaskSetNotice(**H, sender=AGGREGATOR, attempt=2, members=(0, 5, 6)),
    InputRequest(**H, sender=AGGREGATOR, attempt=0),
    MaskedInput(**H, sender=3, vector=FrArray.from_ints([0, 1, FR_MODULUS - 1])),
    UnmaskRequest(**H, sender=AGGREGATOR, dropped=(2,)),
    UnmaskShares(**H, sender=3, shares={2: FR_MODULUS - 1}, self_shares={1: 5, 4: 0}),
]


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: Message) -> None:
    data = encode(msg)
    assert decode(data) == msg
    assert encode(decode(data)) == data
    with pytest.raises(MessageFormatError, match="trailing"):
        decode(data + b"\x00")
    for cut in (3, 5, 40, len(data) - 1):
        with pytest.raises(MessageFormatError):
            decode(data[:cut])


def test_header_is_checked() -> None:
    data = encode(SAMPLES[0])
    for bad, match in ((b"ZKAH" + data[4:], "magic"), (data[:4] + b"\x01" + data[5:], "version"),
                       (data[:5] + b"\x63" + data[6:], "tag")):
        with pytest.raises(MessageFormatError, match=match):
            decode(bad)
    with pytest.raises(MessageFormatError):
        decode("text")  # type: ignore[arg-type]


def test_maps_and_ids_must_be_sorted_and_unique() -> None:
    data = bytearray(encode(MaskSetNotice(**H, sender=AGGREGATOR, attempt=0, members=(1, 2))))
    data[-4:] = (1).to_bytes(4, "big")  # members (1, 1)
    with pytest.raises(MessageFormatError, match="increasing"):
        decode(bytes(data))
    bundle = bytearray(encode(ShareBundle(**H, sender=1, shares={2: b"x", 3: b"y"})))
    at = bundle.rfind((3).to_bytes(4, "big") + (1).to_bytes(4, "big") + b"y")
    bundle[at : at + 4] = (2).to_bytes(4, "big")  # duplicate key 2
    with pytest.raises(MessageFormatError, match="increasing"):
        decode(bytes(bundle))


def test_field_elements_must_be_below_r() -> None:
    data = encode(UnmaskShares(**H, sender=3, shares={}, self_shares={2: 7}))
    with pytest.raises(MessageFormatError, match="below r"):
        decode(data[:-32] + FR_MODULUS.to_bytes(32, "big"))
    vec = encode(MaskedInput(**H, sender=3, vector=FrArray.from_ints([5])))
    with pytest.raises(MessageFormatError, match="vector"):
        decode(vec[:-32] + (FR_MODULUS + 5).to_bytes(32, "big"))


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_another_error(data: bytes) -> None:
    try:
        decode(data)
    except MessageFormatError:
        pass


@given(st.sampled_from(SAMPLES), st.data())
def test_flipped_bytes_decode_or_raise_format_errors(msg: Message, data: st.DataObject) -> None:
    raw = bytearray(encode(msg))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(st.integers(1, 255))
    try:
        decode(bytes(raw))
    except MessageFormatError:
        pass

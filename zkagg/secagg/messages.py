"""The protocol's typed messages and their versioned byte format (no pickle).

Wire format: b"ZKAG" ‖ version u8 ‖ tag u8 ‖ job_id (32) ‖ round u64 ‖ sender u32 ‖ fields, every
integer big-endian, every variable-length part length-prefixed, maps sorted by key with unique keys,
and nothing after the last field. `decode` checks all of it and raises MessageFormatError.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..bn254.constants import FR_MODULUS
from ..bn254.field import FrArray
from ..errors import MessageFormatError, ZkaggError

MAGIC = b"ZKAG"
VERSION = 2  # 2: signed key adverts, double masking (self-mask shares)
#: the sender id of messages from the aggregator
AGGREGATOR = 0xFFFFFFFF
MAX_ITEMS = 1 << 24


class _Writer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def u32(self, v: int) -> None:
        self.parts.append(struct.pack(">I", v))

    def u64(self, v: int) -> None:
        self.parts.append(struct.pack(">Q", v))

    def raw(self, data: bytes) -> None:
        self.parts.append(data)

    def blob(self, data: bytes) -> None:
        self.u32(len(data))
        self.parts.append(data)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = memoryview(data), 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise MessageFormatError(f"truncated message: needs {n} bytes at offset {self.at}")
        out = bytes(self.data[self.at : self.at + n])
        self.at += n
        return out

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack(">Q", self.take(8))[0])

    def count(self) -> int:
        n = self.u32()
        if n > MAX_ITEMS:
            raise MessageFormatError(f"item count {n} exceeds {MAX_ITEMS}")
        return n

    def blob(self) -> bytes:
        return self.take(self.count())


def _fr(r: _Reader) -> int:
    v = int.from_bytes(r.take(32), "big")
    if v >= FR_MODULUS:
        raise MessageFormatError("a field element is not below r")
    return v


def _sorted_unique(keys: list[int]) -> None:
    if any(a >= b for a, b in zip(keys, keys[1:])):
        raise MessageFormatError("ids and map keys must be strictly increasing")


def _write(w: _Writer, kind: str, v: Any) -> None:
    """Write one field of the given kind (see the KINDS of each message)."""
    if kind == "u32":
        w.u32(v)
    elif kind == "key":
        w.raw(v)
    elif kind == "blob":
        w.blob(v)
    elif kind == "vector":
        w.u32(len(v))
        w.raw(v.to_bytes())
    else:  # ids and maps: sorted by id
        w.u32(len(v))
        for k in sorted(v):
            w.u32(k)
            if kind == "blobs":
                w.blob(v[k])
            elif kind == "frs":
                w.raw(v[k].to_bytes(32, "big"))
            elif kind == "signedkeys":
                w.raw(v[k][0] + v[k][1])
                w.blob(v[k][2])


def _read(r: _Reader, kind: str) -> Any:
    if kind == "u32":
        return r.u32()
    if kind == "key":
        return r.take(32)
    if kind == "blob":
        return r.blob()
    if kind == "vector":
        return _vector(r)
    if kind == "ids":
        return _ids(r)
    count = r.count()
    items: list[tuple[int, Any]] = []
    for _ in range(count):
        k = r.u32()
        if kind == "blobs":
            items.append((k, r.blob()))
        elif kind == "frs":
            items.append((k, _fr(r)))
        else:
            items.append((k, (r.take(32), r.take(32), r.blob())))
    _sorted_unique([k for k, _ in items])
    return dict(items)


def _ids(r: _Reader) -> tuple[int, ...]:
    ids = [r.u32() for _ in range(r.count())]
    _sorted_unique(ids)
    return tuple(ids)


def _vector(r: _Reader) -> FrArray:
    n = r.count()
    try:
        return FrArray.from_bytes(r.take(32 * n))
    except ZkaggError as exc:
        raise MessageFormatError(f"vector: {exc}") from exc


@dataclass(frozen=True)
class Message:
    """Common header: the job and round it belongs to and who sent it."""

    job_id: bytes
    round: int
    sender: int

    TAG: ClassVar[int] = 0
    KINDS: ClassVar[Mapping[str, str]] = {}


@dataclass(frozen=True)
class KeyAdvert(Message):
    """Client → aggregator: this round's public keys (mask key, share-encryption key), signed
    with the identity the ledger enrolled for the sender's slot (see identity.advert_payload)."""

    mask_key: bytes
    share_key: bytes
    signature: bytes
    TAG = 1
    KINDS = {"mask_key": "key", "share_key": "key", "signature": "blob"}


@dataclass(frozen=True)
class KeyBroadcast(Message):
    """Aggregator → client: every advertised client's (mask key, share key, signature)."""

    keys: Mapping[int, tuple[bytes, bytes, bytes]]
    TAG = 2
    KINDS = {"keys": "signedkeys"}


@dataclass(frozen=True)
class ShareBundle(Message):
    """Client → aggregator: per neighbour, one ciphertext holding its shares of the sender's mask
    seed and of its self-mask seed b_u."""

    shares: Mapping[int, bytes]
    TAG = 3
    KINDS = {"shares": "blobs"}


@dataclass(frozen=True)
class ShareDelivery(Message):
    """Aggregator → client: the encrypted shares addressed to it, by sender."""

    shares: Mapping[int, bytes]
    TAG = 4
    KINDS = {"shares": "blobs"}


@dataclass(frozen=True)
class MaskSetNotice(Message):
    """Aggregator → client: attempt `attempt` of the mask set M (also posted on the ledger)."""

    attempt: int
    members: tuple[int, ...]
    TAG = 5
    KINDS = {"attempt": "u32", "members": "ids"}


@dataclass(frozen=True)
class InputRequest(Message):
    """Aggregator → client: masking is closed with attempt `attempt`; submit the masked input."""

    attempt: int
    TAG = 6
    KINDS = {"attempt": "u32"}


@dataclass(frozen=True)
class MaskedInput(Message):
    """Client → aggregator: ŷ_u = y_u + PRG(b_u), y_u = P_u + T_u (the hash of y_u and the weight
    are on the ledger). The self-mask hides y_u until the ledger has fixed U and D."""

    vector: FrArray
    TAG = 7
    KINDS = {"vector": "vector"}


@dataclass(frozen=True)
class UnmaskRequest(Message):
    """Aggregator → survivor: the ledger closed submissions with these dropped clients; send the
    shares the ledger's U and D call for."""

    dropped: tuple[int, ...]
    TAG = 8
    KINDS = {"dropped": "ids"}


@dataclass(frozen=True)
class UnmaskShares(Message):
    """Survivor → aggregator: its shares of the mask seeds of dropped clients (`shares`) and of
    the self-mask seeds of surviving clients (`self_shares`), never both for one client."""

    shares: Mapping[int, int]
    self_shares: Mapping[int, int]
    TAG = 9
    KINDS = {"shares": "frs", "self_shares": "frs"}


MESSAGE_TYPES: dict[int, type[Message]] = {
    cls.TAG: cls
    for cls in (KeyAdvert, KeyBroadcast, ShareBundle, ShareDelivery, MaskSetNotice, InputRequest,
                MaskedInput, UnmaskRequest, UnmaskShares)
}


def encode(msg: Message) -> bytes:
    w = _Writer()
    w.raw(MAGIC + bytes([VERSION, msg.TAG]))
    w.raw(msg.job_id)
    w.u64(msg.round)
    w.u32(msg.sender)
    for name, kind in msg.KINDS.items():
        _write(w, kind, getattr(msg, name))
    return b"".join(w.parts)


def decode(data: bytes) -> Message:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MessageFormatError(f"expected bytes, got {type(data).__name__}")
    r = _Reader(bytes(data))
    if r.take(4) != MAGIC:
        raise MessageFormatError("not a zkagg message (bad magic)")
    version, tag = r.take(2)
    if version != VERSION:
        raise MessageFormatError(f"unsupported message version {version} (this is {VERSION})")
    cls = MESSAGE_TYPES.get(tag)
    if cls is None:
        raise MessageFormatError(f"unknown message tag {tag}")
    values: dict[str, Any] = {"job_id": r.take(32), "round": r.u64(), "sender": r.u32()}
    for name, kind in cls.KINDS.items():
        values[name] = _read(r, kind)
    if r.at != len(r.data):
        raise MessageFormatError(f"{len(r.data) - r.at} trailing bytes after the message")
    return cls(**values)


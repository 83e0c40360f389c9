"""Content-addressed storage for masked vectors and published models, keyed by what the chain
records: a masked vector y_u by its commitment c_u (the Poseidon Merkle root over its chunks), a
published model (S, N) by its model hash sha256(output_0 ‖ … ‖ output_{m-1}).

`BlobStore` is the interface (put/get bytes by key) so other backends (IPFS, S3, ...) can plug in;
`DirectoryStore` keeps one file per key in a local directory. `ContentStore` encodes, and validates
every blob it reads against its key: a blob that does not hash to its key raises StoreError.

Blob format: magic "zkaggCA1", kind (1 byte: 1 masked vector, 2 model), chunk length (4 bytes),
for a model N (32 bytes), then the F_r elements (32 bytes each, big-endian). The chunk length is
what the key is recomputed with; any value that reproduces the key yields the proved outputs.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from ..aggregation.chunks import ChunkLayout
from ..aggregation.prover import chunk_output, model_hash
from ..bn254.field import FrArray
from ..errors import InputError, StoreError, check_int

MAGIC = b"zkaggCA1"
MASKED, MODEL = 1, 2
_HEAD = struct.Struct(">8sBI")


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes | None: ...


_KEY = re.compile(r"(masked|model)/[0-9a-f]{64}")


@dataclass(frozen=True)
class DirectoryStore:
    """One file per key under `root` (written atomically: a temporary file, then a rename)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise InputError(f"a store key is 'masked/<64 hex>' or 'model/<64 hex>', not {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise StoreError(f"store {self.root}: cannot write {key}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StoreError(f"store {self.root}: cannot write {key}: {exc.strerror or exc}") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes() if path.exists() else None
        except OSError as exc:  # a folder where the blob should be, no permission, a failing disk
            raise StoreError(f"store {self.root}: cannot read {key}: {exc.strerror or exc}") from None


def masked_key(commitment: int) -> str:
    return f"masked/{check_int('commitment', commitment, 0):064x}"


def model_key(digest: bytes) -> str:
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise InputError("a model hash is 32 bytes")
    return f"model/{digest.hex()}"


@dataclass(frozen=True)
class Model:
    """A published model: the packed aggregate S and the total weight N (decode with the job's
    `zkagg.secagg.encoding.decode`)."""

    aggregate: FrArray
    total_weight: int
    chunk_len: int

    def outputs(self) -> list[int]:
        layout = ChunkLayout(len(self.aggregate), self.chunk_len)
        return [chunk_output(self.total_weight, layout.chunk(self.aggregate, j)) for j in range(layout.n_chunks)]

    @property
    def hash(self) -> bytes:
        return model_hash(self.outputs())


@dataclass(frozen=True)
class ContentStore:
    blobs: BlobStore

    def put_masked(self, vector: FrArray, chunk_len: int) -> int:
        """Store y_u; returns its key, the commitment c_u."""
        chunk_len = min(chunk_len, len(vector))  # as the job's layout: no chunk beyond the vector
        key = ChunkLayout(len(vector), chunk_len).commit(vector)
        self.blobs.put(masked_key(key), _HEAD.pack(MAGIC, MASKED, chunk_len) + vector.to_bytes())
        return key

    def get_masked(self, commitment: int) -> FrArray | None:
        """y_u for c_u, validated; None if not stored."""
        data = self.blobs.get(masked_key(commitment))
        if data is None:
            return None
        chunk_len, body = _parse(data, MASKED, f"masked vector {commitment:#x}")
        vector = _elements(body, f"masked vector {commitment:#x}", chunk_len)
        if ChunkLayout(len(vector), chunk_len).commit(vector) != commitment:
            raise StoreError(f"masked vector {commitment:#x} does not match its commitment")
        return vector

    def put_model(self, model: Model) -> bytes:
        """Store a published model; returns its key, the model hash."""
        model = replace(model, chunk_len=min(model.chunk_len, len(model.aggregate)))
        digest = model.hash
        head = _HEAD.pack(MAGIC, MODEL, model.chunk_len) + model.total_weight.to_bytes(32, "big")
        self.blobs.put(model_key(digest), head + model.aggregate.to_bytes())
        return digest

    def get_model(self, digest: bytes) -> Model | None:
        """The model stored under `digest`, validated; None if not stored."""
        data = self.blobs.get(model_key(digest))
        if data is None:
            return None
        chunk_len, body = _parse(data, MODEL, f"model {digest.hex()}")
        if len(body) < 32:
            raise StoreError(f"model {digest.hex()} is truncated")
        model = Model(_elements(body[32:], f"model {digest.hex()}", chunk_len), int.from_bytes(body[:32], "big"),
                      chunk_len)
        if model.hash != digest:
            raise StoreError(f"model {digest.hex()} does not match its hash")
        return model


def _parse(data: bytes, kind: int, what: str) -> tuple[int, bytes]:
    if len(data) < _HEAD.size:
        raise StoreError(f"{what} is truncated")
    magic, got, chunk_len = _HEAD.unpack_from(data)
    if magic != MAGIC or got != kind or chunk_len == 0:
        raise StoreError(f"{what} has a bad header")
    return chunk_len, data[_HEAD.size:]


def _elements(body: bytes, what: str, chunk_len: int) -> FrArray:
    """The body's field elements; a chunk longer than the vector is refused (it would make the
    check hash a padded chunk of any length the header names)."""
    if not body or len(body) % 32:
        raise StoreError(f"{what} is not a whole number of field elements")
    if chunk_len > len(body) // 32:
        raise StoreError(f"{what} has a chunk length beyond its {len(body) // 32} elements")
    try:
        return FrArray.from_bytes(body)
    except InputError as err:
        raise StoreError(f"{what}: {err}") from err

"""The journal's record formats besides client messages (which keep their wire format).

A ledger write is canonical JSON: {"op": name, "args": [...], "result": ...} with integers as
JSON numbers and bytes as hex. A chunk proof is chunk (u32) ‖ output (32 bytes, < r) ‖ the
256-byte proof. Decoding checks every field and raises StoreError.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from ..aggregation import ChunkProof
from ..bn254.constants import FR_MODULUS
from ..errors import StoreError, ZkaggError
from ..groth16 import Proof
from ..ledger import Outcome

#: the ledger writes an aggregator makes, and how many arguments each takes besides job and round
ARITY = {"post_mask_set": 2, "close_masking": 1, "close_submissions": 0, "accept_round": 1}
PROOF_BYTES = 4 + 32 + 256


@dataclass(frozen=True)
class LedgerWrite:
    op: str
    args: tuple[Any, ...]
    result: Any


def _u32(value: Any) -> int:
    if type(value) is not int or not 0 <= value < 1 << 32:
        raise StoreError("ledger record: expected a u32")
    return value


def _ids(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise StoreError("ledger record: expected a list of client ids")
    ids = tuple(_u32(v) for v in value)
    if any(a >= b for a, b in zip(ids, ids[1:])):
        raise StoreError("ledger record: client ids must be strictly increasing")
    return ids


def _hash(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise StoreError("ledger record: expected a 32-byte hash in hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise StoreError("ledger record: expected a 32-byte hash in hex") from None


def _plain(value: Any) -> Any:
    """JSON form: tuples as lists, bytes as hex, an Outcome as [survivors, dropped]."""
    if isinstance(value, Outcome):
        return [list(value.survivors), list(value.dropped)]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return list(value)
    return value


def encode_write(write: LedgerWrite) -> bytes:
    body = {"op": write.op, "args": [_plain(a) for a in write.args], "result": _plain(write.result)}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def decode_write(data: bytes) -> LedgerWrite:
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise StoreError(f"ledger record is not JSON: {exc}") from None
    if not isinstance(body, dict) or set(body) != {"op", "args", "result"} \
            or not isinstance(body["op"], str) or body["op"] not in ARITY:
        raise StoreError("ledger record: expected {op, args, result} with a known op")
    op, args, result = body["op"], body["args"], body["result"]
    if not isinstance(args, list) or len(args) != ARITY[op]:
        raise StoreError(f"ledger record: {op} takes {ARITY[op]} argument(s)")
    if op == "post_mask_set":
        if result is not None:
            raise StoreError("ledger record: post_mask_set has no result")
        return LedgerWrite(op, (_u32(args[0]), _ids(args[1])), None)
    if op == "close_masking":
        return LedgerWrite(op, (_u32(args[0]),), _ids(result))
    if op == "close_submissions":
        if not isinstance(result, list) or len(result) != 2:
            raise StoreError("ledger record: an outcome is [survivors, dropped]")
        return LedgerWrite(op, (), Outcome(_ids(result[0]), _ids(result[1])))
    return LedgerWrite(op, (_hash(args[0]),), _hash(result))


def encode_proof(proof: ChunkProof) -> bytes:
    return struct.pack(">I", proof.chunk) + proof.output.to_bytes(32, "big") + proof.proof.to_bytes()


def decode_proof(data: bytes) -> ChunkProof:
    if len(data) != PROOF_BYTES:
        raise StoreError(f"proof record: expected {PROOF_BYTES} bytes, got {len(data)}")
    output = int.from_bytes(data[4:36], "big")
    if output >= FR_MODULUS:
        raise StoreError("proof record: the output is not below r")
    try:
        proof = Proof.from_bytes(data[36:])
    except ZkaggError as exc:
        raise StoreError(f"proof record: {exc}") from exc
    return ChunkProof(struct.unpack(">I", data[:4])[0], output, proof)

"""Enrolled identities and the signatures that bind a client's round keys to them.

The aggregator relays every client's per-round public keys (the KeyBroadcast). Without an
authentication an aggregator could hand one client a broadcast whose share keys are its own,
decrypt that client's Shamir shares and rebuild its mask seed. So every client signs its
KeyAdvert with the long-term identity the ledger enrolled for its slot, and every receiver checks
each relayed key against the ledger's enrollment before it encrypts anything to it. No gas: the
signature travels with the message; only the enrollment is on the ledger.

Two kinds of identity, told apart by length:

- 20 bytes: an Ethereum account (the contract's `accountOf(job, slot)`); the advert is signed with
  the account's key as an EIP-191 personal message and checked by recovering the signer.
- 32 bytes: an Ed25519 public key (what `MemoryLedger.enroll` binds), checked with Ed25519.

The signed payload is domain-separated and names the job, the round, the slot and both keys, so a
signature from one round, job or slot is useless anywhere else. Nothing here depends on how the
round's vectors are committed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from .errors import InputError

ETHEREUM_IDENTITY_BYTES = 20
ED25519_IDENTITY_BYTES = 32
MAX_SIGNATURE_BYTES = 65


class Signer(Protocol):
    """A client's long-term identity key: what it signs its round keys with."""

    @property
    def identity(self) -> bytes:
        """The public identity the ledger enrolls (20-byte account or 32-byte Ed25519 key)."""
        ...

    def sign(self, payload: bytes) -> bytes: ...


@dataclass(frozen=True)
class Ed25519Signer:
    """An Ed25519 identity (kept as raw bytes so it pickles to another process)."""

    private: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate().private_bytes_raw())

    @property
    def identity(self) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.private).public_key().public_bytes_raw()

    def sign(self, payload: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.private).sign(payload)


@dataclass(frozen=True)
class EthereumSigner:
    """An enrolled Ethereum account signs its round keys off-chain (EIP-191, no transaction)."""

    account: LocalAccount = field(repr=False)

    @property
    def identity(self) -> bytes:
        return bytes.fromhex(self.account.address[2:])

    def sign(self, payload: bytes) -> bytes:
        return bytes(self.account.sign_message(encode_defunct(payload)).signature)


def advert_payload(job_id: bytes, round: int, slot: int, mask_key: bytes, share_key: bytes) -> bytes:
    """What a client signs: a hash of the domain, job, round, slot and both public keys."""
    body = (b"zkagg/v2/key-advert" + job_id + round.to_bytes(8, "big") + slot.to_bytes(4, "big")
            + mask_key + share_key)
    return hashlib.sha256(body).digest()


def check_identity(identity: bytes, name: str = "identity") -> bytes:
    """`identity` if it has the length of a known kind, else InputError."""
    if not isinstance(identity, bytes) or len(identity) not in (ETHEREUM_IDENTITY_BYTES, ED25519_IDENTITY_BYTES):
        raise InputError(f"{name}: expected a 20-byte account or a 32-byte Ed25519 key")
    if identity == bytes(len(identity)):
        raise InputError(f"{name}: the all-zero identity is not a key")
    return identity


def verify(identity: bytes, payload: bytes, signature: bytes) -> bool:
    """True iff `signature` over `payload` was made by the key behind `identity`."""
    if not isinstance(signature, bytes) or len(signature) > MAX_SIGNATURE_BYTES:
        return False
    if len(identity) == ED25519_IDENTITY_BYTES:
        try:
            Ed25519PublicKey.from_public_bytes(identity).verify(signature, payload)
        except (InvalidSignature, ValueError):
            return False
        return True
    if len(identity) == ETHEREUM_IDENTITY_BYTES:
        try:
            signer = Account.recover_message(encode_defunct(payload), signature=signature)
        except Exception:  # noqa: BLE001 — any malformed signature is simply not a valid one
            return False
        return bytes.fromhex(signer[2:]) == identity
    return False

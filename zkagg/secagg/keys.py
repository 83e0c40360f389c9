"""Per-round key material: mask keys, pairwise mask seeds, and encrypted Shamir shares.

Every derivation is domain-separated by a label, the job, the round and both client ids, so a
value from one context is useless in any other. Two X25519 key pairs per client and round, as in
SecAgg+: the mask key is reconstructed when its owner drops out, so it must never also protect the
channel its shares travel on.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import InputError, ShareError

#: a mask seed is 248 bits: below r, so it is one F_r element for Shamir sharing
SEED_BITS = 248
SHARE_BYTES = 32
#: one ciphertext carries a neighbour's two shares: of the mask seed and of the self-mask seed b_u
CIPHERTEXT_BYTES = 2 * SHARE_BYTES + 16


@dataclass(frozen=True)
class Context:
    """What every derivation is bound to: the job and the round."""

    job_id: bytes
    round: int

    def info(self, label: bytes, u: int, v: int) -> bytes:
        return b"zkagg/v1/" + label + self.job_id + self.round.to_bytes(8, "big") + _pair(u, v)


def _pair(u: int, v: int) -> bytes:
    lo, hi = min(u, v), max(u, v)
    return lo.to_bytes(4, "big") + hi.to_bytes(4, "big")


def _hkdf(ikm: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)


def public_key(raw: bytes, name: str = "public key") -> X25519PublicKey:
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise InputError(f"{name}: expected 32 bytes")
    return X25519PublicKey.from_public_bytes(raw)


def new_mask_seed() -> int:
    return secrets.randbits(SEED_BITS)


def mask_private_key(seed: int) -> X25519PrivateKey:
    """The mask key is derived from a seed so that the seed — one F_r element — is what gets shared."""
    if not 0 <= seed < 1 << SEED_BITS:
        raise InputError(f"mask seed must be below 2^{SEED_BITS}")
    return X25519PrivateKey.from_private_bytes(
        _hkdf(seed.to_bytes(32, "big"), b"zkagg/v1/mask-key")
    )


def raw_public(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes_raw()


def pair_seed(ctx: Context, mask_key: X25519PrivateKey, u: int, v: int, peer_public: bytes) -> bytes:
    """s_uv = HKDF(X25519(sk_u, pk_v), job ‖ round ‖ min(u,v) ‖ max(u,v)), equal on both sides."""
    try:
        shared = mask_key.exchange(public_key(peer_public))  # ValueError: a low-order key
    except ValueError as exc:
        raise ShareError(v, "mask public key is a low-order point") from exc
    return _hkdf(shared, ctx.info(b"mask", u, v))


def _share_cipher(ctx: Context, share_key: X25519PrivateKey, u: int, v: int, peer: bytes) -> ChaCha20Poly1305:
    try:
        shared = share_key.exchange(public_key(peer))
    except ValueError as exc:
        raise ShareError(v, "share public key is a low-order point") from exc
    return ChaCha20Poly1305(_hkdf(shared, ctx.info(b"share", u, v)))


def _nonce_and_ad(ctx: Context, sender: int, receiver: int) -> tuple[bytes, bytes]:
    # One key per unordered pair and round, used once in each direction: the direction is the nonce.
    nonce = bytes(11) + (b"\x00" if sender < receiver else b"\x01")
    ad = ctx.info(b"share-ad", sender, receiver) + sender.to_bytes(4, "big")
    return nonce, ad


def self_mask_seed(ctx: Context, owner: int, seed: int) -> bytes:
    """The PRG key of client `owner`'s self-mask PRG(b_u), bound to the job, round and owner."""
    if not 0 <= seed < 1 << SEED_BITS:
        raise InputError(f"self-mask seed must be below 2^{SEED_BITS}")
    return _hkdf(seed.to_bytes(32, "big"), ctx.info(b"self-mask", owner, owner))


def encrypt_shares(ctx: Context, share_key: X25519PrivateKey, sender: int, receiver: int,
                   receiver_public: bytes, shares: tuple[int, int]) -> bytes:
    """One ciphertext for `receiver` holding the sender's (mask-seed share, self-mask-seed share)."""
    cipher = _share_cipher(ctx, share_key, sender, receiver, receiver_public)
    nonce, ad = _nonce_and_ad(ctx, sender, receiver)
    plain = b"".join(s.to_bytes(SHARE_BYTES, "big") for s in shares)
    return cipher.encrypt(nonce, plain, ad)


def decrypt_shares(ctx: Context, share_key: X25519PrivateKey, sender: int, receiver: int,
                   sender_public: bytes, ciphertext: bytes) -> tuple[int, int]:
    """The two shares `sender` encrypted to `receiver`; a forged, altered or misrouted ciphertext
    raises ShareError."""
    if len(ciphertext) != CIPHERTEXT_BYTES:
        raise ShareError(sender, f"ciphertext has {len(ciphertext)} bytes, expected {CIPHERTEXT_BYTES}")
    cipher = _share_cipher(ctx, share_key, receiver, sender, sender_public)
    nonce, ad = _nonce_and_ad(ctx, sender, receiver)
    try:
        plain = cipher.decrypt(nonce, ciphertext, ad)
    except InvalidTag as exc:
        raise ShareError(sender, "authentication failed (forged, altered or misrouted)") from exc
    mask_share, self_share = plain[:SHARE_BYTES], plain[SHARE_BYTES:]
    return int.from_bytes(mask_share, "big"), int.from_bytes(self_share, "big")

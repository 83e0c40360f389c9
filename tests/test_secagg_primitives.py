"""Key derivation, share encryption, Shamir sharing and the neighbour graph."""

from __future__ import annotations

import itertools
import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from zkagg.bn254.constants import FR_MODULUS
from zkagg.errors import InputError, ShareError
from zkagg.secagg import shamir
from zkagg.secagg.graph import is_connected, neighbour_graph
from zkagg.secagg.keys import (
    Context,
    decrypt_shares,
    encrypt_shares,
    mask_private_key,
    new_mask_seed,
    pair_seed,
    raw_public,
)

CTX = Context(bytes(32), 5)


def test_pair_seeds_agree_and_are_domain_separated() -> None:
    a, b = mask_private_key(new_mask_seed()), mask_private_key(new_mask_seed())
    s = pair_seed(CTX, a, 1, 2, raw_public(b))
    assert s == pair_seed(CTX, b, 2, 1, raw_public(a))
    assert s != pair_seed(Context(bytes(32), 6), a, 1, 2, raw_public(b))
    assert s != pair_seed(Context(b"\x01" * 32, 5), a, 1, 2, raw_public(b))
    assert s != pair_seed(CTX, a, 1, 3, raw_public(b))
    # the mask key is a deterministic function of the shared seed
    seed = new_mask_seed()
    assert raw_public(mask_private_key(seed)) == raw_public(mask_private_key(seed))
    with pytest.raises(InputError):
        mask_private_key(1 << 248)


def test_low_order_peer_key_is_refused_and_blamed() -> None:
    with pytest.raises(ShareError) as info:
        pair_seed(CTX, mask_private_key(1), 1, 4, bytes(32))
    assert info.value.sender == 4


def test_share_encryption_detects_forgery_and_misrouting() -> None:
    ka, kb, kc = (X25519PrivateKey.generate() for _ in range(3))
    share = (secrets.randbelow(FR_MODULUS), secrets.randbelow(FR_MODULUS))
    ct = encrypt_shares(CTX, ka, 3, 7, raw_public(kb), share)
    assert decrypt_shares(CTX, kb, 3, 7, raw_public(ka), ct) == share
    flipped = bytes([ct[0] ^ 1]) + ct[1:]
    for args in (
        (CTX, kb, 3, 7, raw_public(ka), flipped),  # altered
        (CTX, kc, 3, 9, raw_public(ka), ct),  # delivered to someone else
        (CTX, kb, 3, 7, raw_public(kc), ct),  # claimed by another sender
        (Context(bytes(32), 6), kb, 3, 7, raw_public(ka), ct),  # replayed in another round
        (CTX, kb, 3, 7, raw_public(ka), ct[:-1]),  # truncated
    ):
        with pytest.raises(ShareError) as info:
            decrypt_shares(*args)
        assert info.value.sender == 3


@given(st.integers(0, FR_MODULUS - 1), st.integers(1, 7), st.data())
def test_any_threshold_of_shares_rebuilds_the_secret(secret: int, t: int, data: st.DataObject) -> None:
    xs = data.draw(st.lists(st.integers(1, 2**32), min_size=t, max_size=t + 3, unique=True))
    shares = shamir.split(secret, t, xs)
    subset = data.draw(st.lists(st.sampled_from(list(zip(xs, shares))), min_size=t, max_size=t, unique=True))
    assert shamir.combine(subset) == secret


def test_fewer_shares_than_the_threshold_fit_every_secret() -> None:
    # t−1 shares plus any candidate secret define a valid degree-(t−1) polynomial: they pin nothing.
    shares = list(zip([1, 2, 3], shamir.split(42, 3, [1, 2, 3])))[:2]
    for candidate in (0, 42, FR_MODULUS - 1):
        poly = shamir.interpolate([(0, candidate), *shares])
        assert poly.degree <= 2 and all(int(poly(shamir.field()(x))) == y for x, y in shares)


def test_shamir_validates() -> None:
    for args in ((FR_MODULUS, 2, [1, 2]), (1, 3, [1, 2]), (1, 2, [1, 1]), (1, 2, [0, 1])):
        with pytest.raises(InputError):
            shamir.split(*args)  # type: ignore[arg-type]


@given(st.integers(3, 40), st.integers(1, 12), st.integers(0, 2**32))
def test_graph_is_symmetric_regular_and_public(n: int, k: int, round: int) -> None:
    clients = list(range(100, 100 + n))
    degree = min(k + k % 2, n - 1)
    g = neighbour_graph(b"j" * 32, round, clients, degree)
    assert g == neighbour_graph(b"j" * 32, round, reversed(clients), degree)
    for c, vs in g.items():
        assert c not in vs and all(c in g[v] for v in vs)
        assert len(vs) == degree or (degree == n - 1 and len(vs) == n - 1)
    assert is_connected(g, clients)


def test_removing_fewer_than_degree_clients_keeps_the_graph_connected() -> None:
    clients = list(range(12))
    g = neighbour_graph(bytes(32), 0, clients, 4)
    for gone in itertools.combinations(clients, 3):
        assert is_connected(g, set(clients) - set(gone))
    assert g != neighbour_graph(bytes(32), 1, clients, 4)  # a new round, a new graph

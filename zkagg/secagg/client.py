"""The client's side of a secure-aggregation round, as an explicit state machine.

Stages and the message that moves each one on (TRANSITIONS):

    NEW ──start()──▶ ADVERTISED ──KeyBroadcast──▶ SHARED ──ShareDelivery──▶ DELIVERED
    DELIVERED/COMMITTED ──MaskSetNotice──▶ COMMITTED ──InputRequest──▶ SUBMITTED
    SUBMITTED ──UnmaskRequest──▶ DONE

A handler checks the whole message against the client's state and the ledger before it changes
anything, so a bad message raises a named error and leaves the client where it was.
The client writes its commitments to the ledger itself: the aggregator cannot hide or alter them.

Two defences against a malicious aggregator (DESIGN.md "Threat model"):

- Authenticated keys: the client signs its KeyAdvert with the identity the ledger enrolled for its
  slot, and checks every key of the KeyBroadcast against the ledger's enrollment before it
  encrypts a share to it (KeyAuthenticationError otherwise; nothing is sent).
- Double masking (Bonawitz et al.): besides its mask seed the client Shamir-shares a self-mask
  seed b_u and uploads ŷ_u = y_u + PRG(b_u). Only after the ledger has fixed U and D does it
  release, per neighbour, the b-share if the neighbour is in U or the mask-seed share if it is in
  D — never both for one client — so no opening of an honest input exists before every
  commitment is fixed, and the ledger, not the aggregator, decides which opening is made.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ..bn254.field import FrArray
from ..errors import KeyAuthenticationError, PrivacyError, ProtocolError, ShareError
from ..identity import Signer, advert_payload, verify
from ..ledger import Ledger
from . import prg, shamir
from .commitments import CommitLike, Committer, as_committer
from .config import SecAggConfig
from .encoding import Layout, Update, encode
from .graph import is_connected, neighbour_graph
from .keys import (
    decrypt_shares,
    encrypt_shares,
    mask_private_key,
    new_mask_seed,
    raw_public,
    self_mask_seed,
)
from .messages import (
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
)
from .round import RoundId, default_commit, total_mask


class ClientStage(enum.Enum):
    NEW = "new"
    ADVERTISED = "advertised"
    SHARED = "shared"
    DELIVERED = "delivered"
    COMMITTED = "committed"
    SUBMITTED = "submitted"
    DONE = "done"


class Client:
    """One client in one round. `update` and `weight` are encoded (and validated) on construction."""

    def __init__(self, config: SecAggConfig, ledger: Ledger, client_id: int, round: int,
                 update: Update, weight: int, *, layout: Layout | None = None,
                 commit: CommitLike = default_commit, signer: Signer | None = None) -> None:
        if not 0 <= client_id < config.n_clients:
            raise ProtocolError(f"client id {client_id} is not a slot of this job")
        self.id, self.ledger, self.commit = client_id, ledger, commit
        as_committer(commit)  # refused now if it is neither a Committer nor a vector hash
        self.ident = RoundId(config, round)
        self.weight = weight
        self._packed = encode(update, weight, config, layout)
        self.signer = _signer(ledger, config.job_id, client_id, signer)
        self.stage = ClientStage.NEW
        self._seed = new_mask_seed()
        self._self_seed = new_mask_seed()
        self._mask_key = mask_private_key(self._seed)
        self._share_key = X25519PrivateKey.generate()
        self._keys: dict[int, tuple[bytes, bytes]] = {}
        self._neighbours: frozenset[int] = frozenset()
        self._graph: dict[int, frozenset[int]] = {}
        # shares of neighbours' (mask seed, self-mask seed), by owner
        self._held: dict[int, tuple[int, int]] = {}
        self._mask: FrArray | None = None
        self._attempt = -1

    @property
    def config(self) -> SecAggConfig:
        return self.ident.config

    @property
    def committer(self) -> Committer:
        """How this client commits (derived from `commit`, so a restored client needs nothing more)."""
        return as_committer(self.commit)

    def state(self) -> dict[str, Any]:
        """Everything `restore` needs to rebuild this client, as bytes, ints and lists (its
        secrets included: keep it where the client runs)."""
        ids, held = sorted(self._keys), sorted(self._held)
        return {
            "stage": self.stage.value, "round": self.ident.round, "slot": self.id,
            "weight": self.weight, "attempt": self._attempt,
            "seed": self._seed.to_bytes(32, "big"),
            "self_seed": self._self_seed.to_bytes(32, "big"),
            "share_key": self._share_key.private_bytes_raw(),
            "packed": self._packed.to_bytes(),
            "mask": self._mask.to_bytes() if self._mask is not None else b"",
            "keys.ids": ids,
            "keys.mask": [self._keys[c][0] for c in ids],
            "keys.share": [self._keys[c][1] for c in ids],
            "held.ids": held,
            "held.shares": [self._held[c][0].to_bytes(32, "big") + self._held[c][1].to_bytes(32, "big")
                            for c in held],
        }

    @classmethod
    def restore(cls, state: Mapping[str, Any], config: SecAggConfig, ledger: Ledger, *,
                commit: CommitLike = default_commit, signer: Signer | None = None) -> Client:
        """The client `state()` described, for this job's config and ledger."""
        client = cls.__new__(cls)
        client.id, client.ledger, client.commit = state["slot"], ledger, commit
        client.signer = _signer(ledger, config.job_id, client.id, signer)
        client.ident = RoundId(config, state["round"])
        client.weight, client.stage = state["weight"], ClientStage(state["stage"])
        client._packed = FrArray.from_bytes(state["packed"])
        client._seed = int.from_bytes(state["seed"], "big")
        client._self_seed = int.from_bytes(state["self_seed"], "big")
        client._mask_key = mask_private_key(client._seed)
        client._share_key = X25519PrivateKey.from_private_bytes(state["share_key"])
        client._keys = {c: (m, k) for c, m, k in zip(state["keys.ids"], state["keys.mask"], state["keys.share"])}
        client._graph = (neighbour_graph(config.job_id, state["round"], client._keys, config.degree)
                         if client._keys else {})
        client._neighbours = client._graph.get(client.id, frozenset())
        client._held = {c: (int.from_bytes(b[:32], "big"), int.from_bytes(b[32:], "big"))
                        for c, b in zip(state["held.ids"], state["held.shares"])}
        client._mask = FrArray.from_bytes(state["mask"]) if state["mask"] else None
        client._attempt = state["attempt"]
        return client

    def _msg(self, cls: type[Message], **fields: Any) -> Any:
        return cls(job_id=self.config.job_id, round=self.ident.round, sender=self.id, **fields)

    def start(self) -> list[Message]:
        if self.stage is not ClientStage.NEW:
            raise ProtocolError(f"client {self.id} already started")
        mask_key, share_key = raw_public(self._mask_key), raw_public(self._share_key)
        if self.ledger.identity(self.config.job_id, self.id) != self.signer.identity:
            raise KeyAuthenticationError(self.id, "this client's signer is not the identity the ledger enrolled")
        signature = self.signer.sign(advert_payload(self.config.job_id, self.ident.round, self.id,
                                                    mask_key, share_key))
        self.stage = ClientStage.ADVERTISED
        return [self._msg(KeyAdvert, mask_key=mask_key, share_key=share_key, signature=signature)]

    def handle(self, msg: Message) -> list[Message]:
        """Process one message from the aggregator; returns the messages to send back."""
        self.ident.check(msg)
        if msg.sender != AGGREGATOR:
            raise ProtocolError(f"client {self.id} takes messages from the aggregator only")
        entry = TRANSITIONS.get((self.stage, type(msg)))
        if entry is None:
            raise ProtocolError(f"client {self.id}: unexpected {type(msg).__name__} in stage {self.stage.value}")
        handler, next_stage = entry
        out = handler(self, msg)
        self.stage = next_stage
        return out

    # -- handlers: validate everything first, then change state ------------------------------

    def _on_keys(self, msg: KeyBroadcast) -> list[Message]:
        mine = (raw_public(self._mask_key), raw_public(self._share_key))
        if msg.keys.get(self.id, (b"", b"", b""))[:2] != mine:
            raise ProtocolError(f"client {self.id}: the key broadcast does not carry this client's keys")
        if any(not 0 <= c < self.config.n_clients for c in msg.keys):
            raise ProtocolError("the key broadcast names a client outside the job's slots")
        # Every key must trace to the identity the ledger enrolled for its slot: a share is never
        # encrypted to a key the aggregator could have made.
        for v, (mask_key, share_key, signature) in sorted(msg.keys.items()):
            check_advert(self.ledger, self.config.job_id, self.ident.round, v, mask_key, share_key, signature)
        keys = {v: (k[0], k[1]) for v, k in msg.keys.items()}
        graph = neighbour_graph(self.config.job_id, self.ident.round, keys, self.config.degree)
        neighbours = sorted(graph[self.id])
        t = min(self.config.shamir_threshold, len(neighbours))
        xs = [v + 1 for v in neighbours]
        shares = zip(shamir.split(self._seed, t, xs), shamir.split(self._self_seed, t, xs))
        bundle = {
            v: encrypt_shares(self.ident.context, self._share_key, self.id, v, keys[v][1], pair)
            for v, pair in zip(neighbours, shares)
        }
        self._keys, self._graph, self._neighbours = keys, graph, graph[self.id]
        return [self._msg(ShareBundle, shares=bundle)]

    def _on_delivery(self, msg: ShareDelivery) -> list[Message]:
        held = {}
        for sender, ciphertext in msg.shares.items():
            if sender not in self._neighbours:
                raise ShareError(sender, f"is not a neighbour of client {self.id}")
            held[sender] = decrypt_shares(self.ident.context, self._share_key, sender, self.id,
                                          self._keys[sender][1], ciphertext)
        self._held = held
        return []

    def _on_mask_set(self, msg: MaskSetNotice) -> list[Message]:
        onchain = self.ledger.mask_set(self.config.job_id, self.ident.round)
        if onchain is None or (onchain.attempt, onchain.members) != (msg.attempt, tuple(msg.members)):
            raise ProtocolError("the mask set notice does not match the ledger")
        if msg.attempt <= self._attempt:
            raise ProtocolError(f"mask set attempt {msg.attempt} is not newer than {self._attempt}")
        if self.id not in msg.members:
            raise ProtocolError(f"client {self.id} is not in the mask set")
        unseen = sorted(set(msg.members) - set(self._keys))
        if unseen:
            # the aggregator showed this client a partial key set: its neighbour graph would differ
            # from the others' and their pairwise masks would not cancel
            raise ProtocolError(f"the ledger's mask set names clients {unseen} whose keys client "
                                f"{self.id} was never shown")
        partners = self._neighbours & set(msg.members)
        if not partners:
            raise PrivacyError(f"client {self.id} has no mask partner in the mask set: its input would be exposed")
        mask = total_mask(self.ident, self.id, self._mask_key, partners, {v: k[0] for v, k in self._keys.items()})
        posted = self.committer.mask_commitment(self.ident.context, self.id, mask, self._seed)
        self.ledger.post_mask_commitment(self.config.job_id, self.ident.round, msg.attempt, self.id,
                                         posted.digest)
        self._mask, self._attempt = mask, msg.attempt
        return []

    def _on_input_request(self, msg: InputRequest) -> list[Message]:
        onchain = self.ledger.mask_set(self.config.job_id, self.ident.round)
        if onchain is None or not onchain.final or onchain.attempt != self._attempt or msg.attempt != self._attempt:
            raise ProtocolError("masking is not final on the ledger with this client's attempt")
        assert self._mask is not None
        masked = self._packed + self._mask
        # Commit first, upload after; and upload only ŷ_u = y_u + PRG(b_u): y_u itself can be
        # opened only once the ledger has fixed every commitment of the round (input independence).
        posted = self.committer.input_commitment(self.ident.context, self.id, masked)
        self.ledger.post_submission(self.config.job_id, self.ident.round, self.id, posted.digest, self.weight)
        hidden = self_mask(self.ident, self.id, self._self_seed, masked)
        return [self._msg(MaskedInput, vector=hidden)]

    def _on_unmask(self, msg: UnmaskRequest) -> list[Message]:
        outcome = self.ledger.outcome(self.config.job_id, self.ident.round)
        if outcome is None:
            raise ProtocolError("submissions are not closed on the ledger")
        if set(msg.dropped) != set(outcome.dropped):
            raise ProtocolError("the unmask request does not name exactly the ledger's dropped clients")
        if set(outcome.survivors) & set(outcome.dropped):
            raise PrivacyError("the ledger names a client both survivor and dropped")
        if not is_connected(self._graph, outcome.survivors):
            raise PrivacyError("the survivors' mask graph is split: unmasking would reveal partial sums")
        # The ledger's U and D, not the aggregator, choose which share of each neighbour is released.
        shares = {d: self._held[d][0] for d in outcome.dropped if d in self._held}
        self_shares = {u: self._held[u][1] for u in outcome.survivors if u in self._held}
        return [self._msg(UnmaskShares, shares=shares, self_shares=self_shares)]


def self_mask(ident: RoundId, owner: int, seed: int, vector: FrArray, sign: int = 1) -> FrArray:
    """vector + sign · PRG(b_u): the self-mask added before upload (sign −1 removes it)."""
    return prg.accumulate_masks(vector, [self_mask_seed(ident.context, owner, seed)], [sign])


def check_advert(ledger: Ledger, job_id: bytes, round: int, slot: int, mask_key: bytes,
                 share_key: bytes, signature: bytes) -> None:
    """KeyAuthenticationError unless the keys are signed by the identity enrolled for `slot`."""
    identity = ledger.identity(job_id, slot)
    if identity is None:
        raise KeyAuthenticationError(slot, "no identity is enrolled for this slot")
    if not verify(identity, advert_payload(job_id, round, slot, mask_key, share_key), signature):
        raise KeyAuthenticationError(slot, "not signed by the identity the ledger enrolled (substituted?)")


def _signer(ledger: Ledger, job_id: bytes, slot: int, signer: Signer | None) -> Signer:
    """The given signer, else the one a simulation ledger keeps for the slot."""
    if signer is not None:
        return signer
    found = getattr(ledger, "signer", None)
    kept = found(job_id, slot) if callable(found) else None
    if kept is None:
        raise ProtocolError(f"client {slot}: no signer given and the ledger keeps none for this slot")
    return kept  # type: ignore[no-any-return]


Handler = Callable[[Client, Any], list[Message]]
TRANSITIONS: dict[tuple[ClientStage, type[Message]], tuple[Handler, ClientStage]] = {
    (ClientStage.ADVERTISED, KeyBroadcast): (Client._on_keys, ClientStage.SHARED),
    (ClientStage.SHARED, ShareDelivery): (Client._on_delivery, ClientStage.DELIVERED),
    (ClientStage.DELIVERED, MaskSetNotice): (Client._on_mask_set, ClientStage.COMMITTED),
    (ClientStage.COMMITTED, MaskSetNotice): (Client._on_mask_set, ClientStage.COMMITTED),
    (ClientStage.COMMITTED, InputRequest): (Client._on_input_request, ClientStage.SUBMITTED),
    (ClientStage.SUBMITTED, UnmaskRequest): (Client._on_unmask, ClientStage.DONE),
}

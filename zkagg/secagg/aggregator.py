"""The aggregator's side of a secure-aggregation round, as an explicit state machine.

    KEYS ──close──▶ SHARES ──close──▶ MASKING ──close (all committed)──▶ INPUTS
    MASKING ──close (someone missing)──▶ MASKING, with a smaller mask set (a retry)
    INPUTS ──close──▶ UNMASKING ──close──▶ DONE

Messages are accepted in the stage that expects them (TRANSITIONS); `close()` is the stage's
deadline. A KeyAdvert must be signed by the identity the ledger enrolled for its sender
(KeyAuthenticationError otherwise: the liar is left out of the round). Uploads are double-masked,
ŷ_u = y_u + PRG(b_u): only after the ledger has fixed U and D do the survivors' b-shares (u ∈ U)
and mask-seed shares (u ∈ D) arrive, so the aggregator learns y_u of the survivors and, for the
dropped, their total masks T_u — nothing else, and nothing before every commitment is fixed. The
result is released only when the whole round succeeded.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from ..bn254 import FR_MODULUS, G1Point
from ..bn254.field import FrArray
from ..errors import DropoutError, PrivacyError, ProtocolError
from ..ledger import Ledger
from . import shamir
from .client import check_advert, self_mask
from .commitments import CommitLike, as_committer
from .config import SecAggConfig
from .encoding import decode
from .graph import is_connected, neighbour_graph
from .keys import CIPHERTEXT_BYTES, mask_private_key, public_key, raw_public
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

#: a message and the client it goes to
Outgoing = tuple[int, Message]


class AggregatorStage(enum.Enum):
    KEYS = "keys"
    SHARES = "shares"
    MASKING = "masking"
    INPUTS = "inputs"
    UNMASKING = "unmasking"
    DONE = "done"


@dataclass(frozen=True)
class RoundResult:
    """A completed round: S = Σ_U y_u + Σ_D T_u = Σ_U P_u, N = Σ_U w_u, and the per-slot vectors
    z_u (y_u for survivors, T_u for the dropped) that the aggregation proof takes as witness."""

    config: SecAggConfig
    round: int
    aggregate: FrArray
    total_weight: int
    survivors: tuple[int, ...]
    dropped: tuple[int, ...]
    inputs: dict[int, FrArray] = field(repr=False)
    misbehaving: dict[int, str] = field(default_factory=dict)
    #: with KZG commitments (aggregation v2): the points the aggregator recomputed and checked
    #: against the ledger's digests, C_u for u in U and E_u for u in D, to reveal at acceptance
    points: dict[int, G1Point] = field(default_factory=dict, repr=False)
    #: rho = sum over D of the blinders s'_u inside the E_u (0 without KZG commitments)
    rho: int = 0

    def mean(self) -> npt.NDArray[np.float64]:
        """The weighted mean of the survivors' updates, as a flat float64 vector (see encoding.decode)."""
        return decode(self.aggregate, self.total_weight, self.config)


class Aggregator:
    def __init__(self, config: SecAggConfig, ledger: Ledger, round: int, *,
                 commit: CommitLike = default_commit) -> None:
        self.ident = RoundId(config, round)
        self.ledger, self.commit = ledger, commit
        self.committer = as_committer(commit)
        self._points: dict[int, G1Point] = {}
        self._blinds: dict[int, int] = {}
        self.stage = AggregatorStage.KEYS
        self._keys: dict[int, tuple[bytes, bytes]] = {}
        self._signatures: dict[int, bytes] = {}
        self._graph: dict[int, frozenset[int]] = {}
        self._bundles: dict[int, dict[int, bytes]] = {}
        self._attempt = -1
        self._members: tuple[int, ...] = ()
        self._inputs: dict[int, FrArray] = {}
        self._survivors: tuple[int, ...] = ()
        self._dropped: tuple[int, ...] = ()
        self._unmask: dict[int, dict[int, int]] = {}  # mask-seed shares of D, by sender
        self._self_unmask: dict[int, dict[int, int]] = {}  # self-mask-seed shares of U, by sender
        self.result: RoundResult | None = None

    @property
    def config(self) -> SecAggConfig:
        return self.ident.config

    def _msg(self, cls: type[Message], **fields: Any) -> Any:
        return cls(job_id=self.config.job_id, round=self.ident.round, sender=AGGREGATOR, **fields)

    def handle(self, msg: Message) -> None:
        """Take one client message; it is checked in full before anything is recorded."""
        self.ident.check(msg)
        entry = TRANSITIONS.get((self.stage, type(msg)))
        if entry is None:
            raise ProtocolError(f"aggregator: unexpected {type(msg).__name__} in stage {self.stage.value}")
        entry(self, msg)

    def close(self) -> list[Outgoing]:
        """The current stage's deadline: move on with whoever answered in time."""
        closer = CLOSERS.get(self.stage)
        if closer is None:
            raise ProtocolError(f"aggregator: nothing to close in stage {self.stage.value}")
        return closer(self)

    # -- messages --------------------------------------------------------------------------

    def _from(self, msg: Message, allowed: Sequence[int] | set[int] | dict[int, Any], seen: Any) -> None:
        if msg.sender not in allowed:
            raise ProtocolError(f"client {msg.sender} may not send {type(msg).__name__} now")
        if msg.sender in seen:
            raise ProtocolError(f"client {msg.sender} already sent {type(msg).__name__} (replay)")

    def _on_advert(self, msg: KeyAdvert) -> None:
        self._from(msg, range(self.config.n_clients), self._keys)
        public_key(msg.mask_key, "mask key")
        public_key(msg.share_key, "share key")
        check_advert(self.ledger, self.config.job_id, self.ident.round, msg.sender, msg.mask_key,
                     msg.share_key, msg.signature)
        self._keys[msg.sender] = (msg.mask_key, msg.share_key)
        self._signatures[msg.sender] = msg.signature

    def _on_bundle(self, msg: ShareBundle) -> None:
        self._from(msg, self._keys, self._bundles)
        if set(msg.shares) != self._graph[msg.sender]:
            raise ProtocolError(f"client {msg.sender} must send one share to each of its neighbours")
        if any(len(c) != CIPHERTEXT_BYTES for c in msg.shares.values()):
            raise ProtocolError(f"client {msg.sender} sent a share ciphertext of the wrong length")
        self._bundles[msg.sender] = dict(msg.shares)

    def _on_input(self, msg: MaskedInput) -> None:
        # ŷ_u is self-masked: it is checked against c_u once b_u is rebuilt (_recover_input).
        self._from(msg, self._members, self._inputs)
        posted = self.ledger.submissions(self.config.job_id, self.ident.round).get(msg.sender)
        if posted is None:
            raise ProtocolError(f"client {msg.sender} uploaded before committing on the ledger")
        if len(msg.vector) != self.config.n_elements:
            raise ProtocolError(f"client {msg.sender} sent {len(msg.vector)} elements, expected {self.config.n_elements}")
        self._inputs[msg.sender] = msg.vector

    def _on_unmask(self, msg: UnmaskShares) -> None:
        self._from(msg, self._survivors, self._unmask)
        if not set(msg.shares) <= set(self._dropped):
            raise ProtocolError(f"client {msg.sender} sent shares of clients that did not drop")
        if not set(msg.self_shares) <= set(self._survivors):
            raise ProtocolError(f"client {msg.sender} sent self-mask shares of clients that did not survive")
        self._unmask[msg.sender] = dict(msg.shares)
        self._self_unmask[msg.sender] = dict(msg.self_shares)

    # -- deadlines -------------------------------------------------------------------------

    def _close_keys(self) -> list[Outgoing]:
        if len(self._keys) < 2:
            raise DropoutError(f"only {len(self._keys)} client(s) advertised keys; a round needs 2")
        self._graph = neighbour_graph(self.config.job_id, self.ident.round, self._keys, self.config.degree)
        self.stage = AggregatorStage.SHARES
        broadcast = self._msg(KeyBroadcast, keys={c: (*k, self._signatures[c]) for c, k in self._keys.items()})
        return [(c, broadcast) for c in self._keys]

    def _close_shares(self) -> list[Outgoing]:
        members = tuple(sorted(self._bundles))
        self._post_mask_set(0, members)
        out: list[Outgoing] = []
        for v in members:
            shares = {u: self._bundles[u][v] for u in members if v in self._bundles[u]}
            out.append((v, self._msg(ShareDelivery, shares=shares)))
        return out + self._notices()

    def _post_mask_set(self, attempt: int, members: tuple[int, ...]) -> None:
        if len(members) < 2:
            raise DropoutError(f"the mask set shrank to {len(members)} client(s); a round needs 2")
        self.ledger.post_mask_set(self.config.job_id, self.ident.round, attempt, members)
        self._attempt, self._members = attempt, members
        self.stage = AggregatorStage.MASKING

    def _notices(self) -> list[Outgoing]:
        notice = self._msg(MaskSetNotice, attempt=self._attempt, members=self._members)
        return [(c, notice) for c in self._members]

    def _close_masking(self) -> list[Outgoing]:
        committed = self.ledger.close_masking(self.config.job_id, self.ident.round, self._attempt)
        if len(committed) < len(self._members):
            self._post_mask_set(self._attempt + 1, committed)
            return self._notices()
        self.stage = AggregatorStage.INPUTS
        request = self._msg(InputRequest, attempt=self._attempt)
        return [(c, request) for c in self._members]

    def _close_inputs(self) -> list[Outgoing]:
        outcome = self.ledger.close_submissions(self.config.job_id, self.ident.round)
        missing = [u for u in outcome.survivors if u not in self._inputs]
        if missing:
            raise DropoutError(f"clients {missing} committed on the ledger but never uploaded y_u")
        need = max(2, self.config.shamir_threshold)
        if len(outcome.survivors) < need:
            raise DropoutError(f"{len(outcome.survivors)} survivor(s); a round needs {need}")
        if not is_connected(self._graph, outcome.survivors):
            raise PrivacyError("the survivors' mask graph is split: unmasking would reveal partial sums")
        self._survivors, self._dropped = outcome.survivors, outcome.dropped
        # Always an unmasking stage: the survivors' self-masks come off only with U fixed.
        self.stage = AggregatorStage.UNMASKING
        request = self._msg(UnmaskRequest, dropped=self._dropped)
        return [(c, request) for c in self._survivors]

    def _close_unmasking(self) -> list[Outgoing]:
        misbehaving: dict[int, str] = {}
        inputs = {u: self._recover_input(u, misbehaving) for u in self._survivors}
        masks = {d: self._recover(d, misbehaving) for d in self._dropped}
        self._finish(inputs, masks, misbehaving)
        return []

    def _recover_input(self, owner: int, misbehaving: dict[int, str]) -> FrArray:
        """y_u = ŷ_u − PRG(b_u) with b_u rebuilt from the survivors' b-shares; the first t shares
        whose b_u opens ŷ_u to the c_u on the ledger win, and a share off their polynomial is named."""
        points = sorted((h + 1, s[owner]) for h, s in self._self_unmask.items() if owner in s)
        t = self._threshold(owner, points, "self-mask seed")
        committed = self.ledger.submissions(self.config.job_id, self.ident.round)[owner][0]
        for subset in combinations(points, t):
            seed = shamir.combine(subset)
            if seed >= 1 << 248:
                continue
            vector = self_mask(self.ident, owner, seed, self._inputs[owner], -1)
            opened = self.committer.input_commitment(self.ident.context, owner, vector)
            if opened.digest == committed:
                self._name_wrong_shares(points, subset, owner, "self-mask seed", misbehaving)
                if opened.point is not None:
                    self._points[owner] = opened.point
                return vector
        raise ProtocolError(f"no {t} of the survivors' shares open client {owner}'s upload to its commitment c_u")

    def _threshold(self, owner: int, points: list[tuple[int, int]], what: str) -> int:
        t = min(self.config.shamir_threshold, len(self._graph[owner]))
        if len(points) < t:
            raise DropoutError(f"only {len(points)} share(s) of client {owner}'s {what} arrived; {t} are needed")
        return t

    @staticmethod
    def _name_wrong_shares(points: list[tuple[int, int]], subset: tuple[tuple[int, int], ...], owner: int,
                           what: str, misbehaving: dict[int, str]) -> None:
        poly, gf = shamir.interpolate(subset), shamir.field()
        for x, y in points:
            if int(poly(gf(x))) != y:
                misbehaving[x - 1] = f"sent a wrong share of client {owner}'s {what}"

    def _recover(self, dropped: int, misbehaving: dict[int, str]) -> FrArray:
        """T_d from the survivors' shares of d's seed; a share that disagrees is named."""
        points = sorted((h + 1, s[dropped]) for h, s in self._unmask.items() if dropped in s)
        t = self._threshold(dropped, points, "key")
        mask_key = self._keys[dropped][0]
        seed = None
        for subset in combinations(points, t):
            candidate = shamir.combine(subset)
            if candidate < 1 << 248 and raw_public(mask_private_key(candidate)) == mask_key:
                seed = candidate
                self._name_wrong_shares(points, subset, dropped, "key", misbehaving)
                break
        if seed is None:
            raise ProtocolError(f"no {t} of the survivors' shares rebuild client {dropped}'s mask key")
        partners = self._graph[dropped] & set(self._members)
        mask = total_mask(self.ident, dropped, mask_private_key(seed), partners,
                          {v: k[0] for v, k in self._keys.items()})
        committed = self.ledger.mask_commitments(self.config.job_id, self.ident.round)[dropped]
        opened = self.committer.mask_commitment(self.ident.context, dropped, mask, seed)
        if opened.digest != committed:
            raise ProtocolError(f"client {dropped}'s rebuilt total mask does not match its commitment e_u")
        if opened.point is not None:
            self._points[dropped], self._blinds[dropped] = opened.point, opened.blind
        return mask

    def _finish(self, inputs: dict[int, FrArray], masks: dict[int, FrArray],
                misbehaving: dict[int, str] | None = None) -> None:
        total = FrArray.zeros(self.config.n_elements)
        for u in self._survivors:
            total = total + inputs[u]
        for mask in masks.values():
            total = total + mask
        posted = self.ledger.submissions(self.config.job_id, self.ident.round)
        self.result = RoundResult(
            config=self.config, round=self.ident.round, aggregate=total,
            total_weight=sum(posted[u][1] for u in self._survivors),
            survivors=self._survivors, dropped=self._dropped,
            inputs={**inputs, **masks},
            misbehaving=misbehaving or {},
            points=dict(self._points), rho=sum(self._blinds.values()) % FR_MODULUS,
        )
        self.stage = AggregatorStage.DONE


TRANSITIONS: dict[tuple[AggregatorStage, type[Message]], Callable[[Aggregator, Any], None]] = {
    (AggregatorStage.KEYS, KeyAdvert): Aggregator._on_advert,
    (AggregatorStage.SHARES, ShareBundle): Aggregator._on_bundle,
    (AggregatorStage.INPUTS, MaskedInput): Aggregator._on_input,
    (AggregatorStage.UNMASKING, UnmaskShares): Aggregator._on_unmask,
}
CLOSERS: dict[AggregatorStage, Callable[[Aggregator], list[Outgoing]]] = {
    AggregatorStage.KEYS: Aggregator._close_keys,
    AggregatorStage.SHARES: Aggregator._close_shares,
    AggregatorStage.MASKING: Aggregator._close_masking,
    AggregatorStage.INPUTS: Aggregator._close_inputs,
    AggregatorStage.UNMASKING: Aggregator._close_unmasking,
}

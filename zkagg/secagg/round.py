"""What client and aggregator share: the round's identity, message checks, and mask arithmetic."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ..bn254.field import FrArray
from ..errors import ProtocolError
from ..poseidon import poseidon_sponge
from . import prg
from .config import SecAggConfig
from .keys import Context, pair_seed
from .messages import Message

#: the commitment to a vector (e_u = H(T_u), c_u = H(y_u)); Poseidon sponge unless a job says otherwise
Commit = Callable[[FrArray], int]
default_commit: Commit = poseidon_sponge


@dataclass(frozen=True)
class RoundId:
    config: SecAggConfig
    round: int

    @property
    def context(self) -> Context:
        return Context(self.config.job_id, self.round)

    def check(self, msg: Message) -> None:
        if msg.job_id != self.config.job_id or msg.round != self.round:
            raise ProtocolError(
                f"{type(msg).__name__} is for job {msg.job_id.hex()[:16]}… round {msg.round}, "
                f"not this round ({self.round})"
            )


def sign(u: int, v: int) -> int:
    """σ_uv: +1 if u < v else −1, so m_uv enters T_u and T_v with opposite signs."""
    return 1 if u < v else -1


def total_mask(ident: RoundId, owner: int, mask_key: X25519PrivateKey, partners: Iterable[int],
               mask_keys: Mapping[int, bytes]) -> FrArray:
    """T_u = Σ_{v ∈ partners} σ_uv · PRG(s_uv), of config.n_elements elements."""
    partners = sorted(partners)
    seeds = [pair_seed(ident.context, mask_key, owner, v, mask_keys[v]) for v in partners]
    zeros = FrArray.zeros(ident.config.n_elements)
    return prg.accumulate_masks(zeros, seeds, [sign(owner, v) for v in partners])

"""`zkagg bench secagg`: a client's masking work and the aggregator's unmasking, beside Flower's
SecAgg+ primitives (flwr) on the same model length and the same number of neighbours.

Client work, both sides: quantize + weight the update, add k = 10 pairwise masks and the self
mask PRG(b_u) (double masking: zkagg uploads y_u + PRG(b_u), as Flower's secaggplus_mod adds its
self mask before reducing mod 2^32). zkagg's figure excludes the Poseidon commitments
e_u = H(T_u) and c_u = H(y_u) and the per-round key work (signing the key advert, Shamir-sharing
the mask seed and b_u to k neighbours, encrypting the shares), which are reported separately.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ..bn254.constants import FR_MODULUS
from ..bn254.field import FrArray
from ..identity import Ed25519Signer, advert_payload
from ..ledger import MemoryLedger
from ..poseidon import poseidon_sponge
from ..secagg import (
    Aggregator,
    AggregatorStage,
    Client,
    InProcessTransport,
    Quantization,
    SecAggConfig,
    encode,
    prg,
    shamir,
)
from ..secagg.keys import (
    Context,
    encrypt_shares,
    mask_private_key,
    new_mask_seed,
    pair_seed,
    raw_public,
    self_mask_seed,
)
from ..secagg.messages import MaskedInput
from ..secagg.messages import encode as encode_message
from ..secagg.round import sign
from .timing import machine_info, median_seconds

SEED = 20261122
K = 10
WEIGHT = 700
# Flower's SecAggPlusWorkflow defaults
FLOWER_CLIP, FLOWER_TARGET, FLOWER_MOD, FLOWER_MAX_WEIGHT = 8.0, 1 << 22, 1 << 32, 1000
QUANTIZATION = Quantization(bits=16, frac_bits=12, clip=4.0)


def _update(d: int) -> np.ndarray:
    return np.random.default_rng(SEED).normal(0, 0.5, d)  # benchmark data, not key material


def job(d: int, n: int) -> SecAggConfig:
    """16-bit quantization (step 2^-12 on [-4, 4]) and Flower's default max weight."""
    return SecAggConfig(job_id=secrets.token_bytes(32), n_clients=n, model_length=d, neighbours=K,
                        quantization=QUANTIZATION, max_weight=FLOWER_MAX_WEIGHT)


def zkagg_client_s(d: int, n: int, repeat: int) -> tuple[float, float, float, int]:
    """(client masking s, commitments s, key work s, upload bytes) for one client with K neighbours."""
    config = job(d, n)
    update, ctx = _update(d), Context(config.job_id, 0)
    peers = [raw_public(mask_private_key(new_mask_seed())) for _ in range(K)]

    def client() -> Any:
        own, b = mask_private_key(new_mask_seed()), new_mask_seed()
        packed = encode(update, WEIGHT, config)
        seeds = [pair_seed(ctx, own, 0, v, pk) for v, pk in enumerate(peers, start=1)]
        signs = [sign(0, v) for v in range(1, K + 1)]
        mask = prg.accumulate_masks(FrArray.zeros(len(packed)), seeds, signs)
        y = packed + mask  # what c_u commits to
        return prg.accumulate_masks(y, [self_mask_seed(ctx, 0, b)], [1]), mask, y

    signer, share_key = Ed25519Signer.generate(), X25519PrivateKey.generate()

    def key_work() -> Any:
        signer.sign(advert_payload(config.job_id, 0, 0, peers[0], peers[1]))
        xs = list(range(2, K + 2))
        t = config.shamir_threshold
        pairs = zip(shamir.split(new_mask_seed(), t, xs), shamir.split(new_mask_seed(), t, xs))
        return [encrypt_shares(ctx, share_key, 0, v, pk, pair) for v, pk, pair in zip(xs, peers, pairs)]

    upload_vector, mask, y = client()
    commit_s = median_seconds(lambda: (poseidon_sponge(mask), poseidon_sponge(y)), max(1, repeat // 2))
    upload = encode_message(MaskedInput(job_id=config.job_id, round=0, sender=0, vector=upload_vector))
    return median_seconds(client, repeat), commit_s, median_seconds(key_work, repeat), len(upload)


def flower_client_s(d: int, repeat: int) -> tuple[float, int] | None:
    """Flower's secaggplus_mod masking sequence with flwr's own primitives, or None without flwr."""
    try:
        from flwr.common import ndarray_to_bytes
        from flwr.common.secure_aggregation.crypto.symmetric_encryption import generate_shared_key
        from flwr.common.secure_aggregation.ndarrays_arithmetic import (
            factor_combine,
            parameters_addition,
            parameters_mod,
            parameters_multiply,
            parameters_subtraction,
        )
        from flwr.common.secure_aggregation.quantization import quantize
        from flwr.common.secure_aggregation.secaggplus_utils import pseudo_rand_gen
    except ImportError:
        return None
    update = [_update(d)]
    sk = ec.generate_private_key(ec.SECP384R1())  # the curve of Flower's generate_key_pairs
    peers = [ec.generate_private_key(ec.SECP384R1()).public_key() for _ in range(K)]
    rd_seed = secrets.token_bytes(32)

    def client() -> Any:
        ratio = WEIGHT / FLOWER_MAX_WEIGHT
        q_ratio = round(ratio * FLOWER_TARGET)
        params = parameters_multiply(update, q_ratio / FLOWER_TARGET)
        params = factor_combine(q_ratio, quantize(params, FLOWER_CLIP, FLOWER_TARGET))
        dims = [a.shape for a in params]
        params = parameters_addition(params, pseudo_rand_gen(rd_seed, FLOWER_MOD, dims))
        for i, pk in enumerate(peers):
            mask = pseudo_rand_gen(generate_shared_key(sk, pk), FLOWER_MOD, dims)
            params = (parameters_addition if i % 2 else parameters_subtraction)(params, mask)
        return parameters_mod(params, FLOWER_MOD)

    upload = sum(len(ndarray_to_bytes(a)) for a in client())
    return median_seconds(client, repeat), upload


def _sha_commit(vector: FrArray) -> int:
    return int.from_bytes(hashlib.sha256(vector.to_bytes()).digest(), "big") % FR_MODULUS


def unmask_s(d: int, n: int, dropped: int) -> float:
    """Aggregator time from the submission deadline to the result (recovering `dropped` clients).

    The round's commitments use SHA-256 here so that setting up 100 clients stays quick; the
    Poseidon commitment's own cost is the separate `zkagg_commitments_s`.
    """
    config = job(d, n)
    ledger = MemoryLedger()
    ledger.open_job(config.job_id, n, config.max_weight)
    update = _update(d)
    clients = {c: Client(config, ledger, c, 0, update, WEIGHT, commit=_sha_commit) for c in range(n)}
    agg = Aggregator(config, ledger, 0, commit=_sha_commit)
    net = InProcessTransport(agg, clients, alive=set(clients))
    for c in clients:
        net.send_to_aggregator(clients[c].start())
    net.deliver(agg.close())
    net.deliver(agg.close())
    out = agg.close()
    assert agg.stage is AggregatorStage.INPUTS
    net.alive -= _recoverable_dropouts(agg._graph, config.shamir_threshold, dropped)
    net.deliver(out)
    t0 = time.perf_counter()
    net.deliver(agg.close())  # unmask requests are answered in-process; their client time is included
    agg.close()  # every survivor's self mask comes off, every dropped client's masks are rebuilt
    assert agg.result is not None and len(agg.result.dropped) == dropped
    return time.perf_counter() - t0


def _recoverable_dropouts(graph: dict[int, frozenset[int]], t: int, count: int) -> set[int]:
    """`count` clients to drop such that every client keeps t answering neighbours (double
    masking needs shares of every survivor's self-mask seed as well as of every dropped
    client's mask seed); taken greedily in id order, which is scattered on the ring."""
    gone: set[int] = set()
    for c in sorted(graph):
        if len(gone) == count:
            break
        trial = gone | {c}
        if all(len(graph[o] - trial) >= min(t, len(graph[o])) for o in graph):
            gone = trial
    if len(gone) < count:
        raise RuntimeError(f"no {count} clients can drop with every one recoverable")
    return gone


def run(quick: bool = False) -> dict[str, Any]:
    grid = [(10**4, 10)] if quick else [(10**4, 10), (10**4, 100), (10**6, 10), (10**6, 100)]
    out: dict[str, Any] = {"suite": "secagg", "quick": quick, "machine": machine_info(), "k": K, "rows": []}
    for d, n in grid:
        repeat = 9 if d <= 10**4 else 7
        # zkagg and Flower alternate three times (medians of medians): a shared machine's load
        # and the allocator's state then weigh on both sides alike
        z_runs, f_runs = [], []
        for _ in range(3):
            z_runs.append(zkagg_client_s(d, n, repeat))
            f_runs.append(flower_client_s(d, repeat))
        z_s, commit_s, key_s, z_bytes = sorted(z_runs)[1]
        row: dict[str, Any] = {
            "d": d, "n": n, "k": K, "double_masking": True,
            "zkagg_client_s": z_s,
            "zkagg_commitments_s": commit_s,
            "zkagg_key_work_s": key_s,
            "zkagg_upload_bytes_per_param": z_bytes / d,
            "zkagg_unmask_s_no_dropout": unmask_s(d, n, 0),
            "zkagg_unmask_s_10pct_dropout": unmask_s(d, n, max(1, n // 10)),
        }
        if f_runs[0] is not None:
            flower_s, flower_bytes = sorted(f for f in f_runs if f is not None)[1]
            row.update(flower_client_s=flower_s, flower_upload_bytes_per_param=flower_bytes / d,
                       ratio=flower_s / z_s)
        out["rows"].append(row)
    return out


def table(result: dict[str, Any]) -> str:
    lines = ["Secure aggregation with double masking, one client with k = 10 neighbours "
             "(seconds; ratio = Flower / zkagg; key work: signed advert + 2 Shamir sharings + share encryption)",
             "        d      n   zkagg client   Flower client   ratio   commitments   unmask 0%   unmask 10%"
             "   bytes/param zkagg  Flower"]
    for r in result["rows"]:
        fl = f"{r['flower_client_s']:13.4f}   {r['ratio']:5.1f}x" if "ratio" in r else f"{'(no flwr)':>13}   {'-':>6}"
        lines.append(
            f"  {r['d']:7d}  {r['n']:5d}   {r['zkagg_client_s']:12.4f}   {fl}   {r['zkagg_commitments_s']:11.3f}"
            f"   {r['zkagg_unmask_s_no_dropout']:9.3f}   {r['zkagg_unmask_s_10pct_dropout']:10.3f}"
            f"   {r['zkagg_upload_bytes_per_param']:17.2f}  {r.get('flower_upload_bytes_per_param', 0):6.2f}"
            f"   key work {r.get('zkagg_key_work_s', 0) * 1e3:.1f} ms"
        )
    return "\n".join(lines)

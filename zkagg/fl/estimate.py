"""How long a job's rounds will take to prove, known before its setup runs.

The chunk circuit's size is known in closed form (`circuits.aggregation.n_constraints`), so a
round's proving work is chunks × (witness + Groth16 proof of a 2^k-row domain). The rate comes
from this machine: a G1 multi-scalar multiplication of 2^14 points is timed once per process
(tens of milliseconds) and scaled. The model, from the figures measured on the project's
reference machine (2 vCPUs, see PERF-NOTES): a proof costs about 7.5 G1 MSMs of the domain's size
(four G1 MSMs, a G2 MSM at about 2.4 of them, and the NTTs), a Pippenger MSM of n points costs
in proportion to n / (log2 n − 3), and the Python witness evaluation about 1.1 µs per constraint
at the reference machine's MSM rate. It is an estimate for planning and refusing, not a promise:
on the reference machine it came within a factor of two of measured rounds.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from functools import cache

from ..aggregation import AggregationJob
from ..circuits.aggregation import n_constraints
from ..errors import InputError

#: G1 MSMs a Groth16 proof costs, in units of one G1 MSM over the proving domain
PROOF_MSMS = 7.5
#: Python witness evaluation per constraint, seconds, at the reference machine's MSM rate
WITNESS_S_PER_CONSTRAINT = 1.1e-6
#: a G1 MSM of 2^14 points on the reference machine (2 threads, quiet), seconds
REFERENCE_MSM_14_S = 0.015
CALIBRATION_LOG_N = 14


class ProvingBudgetError(InputError):
    """A job's rounds would take longer to prove than the limit it was given allows."""


@dataclass(frozen=True)
class ProvingEstimate:
    """A round's proving work: `chunks` proofs of `constraints_per_chunk` constraints each in a
    2^`log_domain`-row domain, about `seconds` on this machine (`msm_14_s`: the calibration)."""

    chunks: int
    constraints_per_chunk: int
    log_domain: int
    seconds: float
    msm_14_s: float

    @property
    def constraints(self) -> int:
        return self.chunks * self.constraints_per_chunk

    def __str__(self) -> str:
        return (f"{self.chunks:,} chunk proof(s) of {self.constraints_per_chunk:,} constraints "
                f"(2^{self.log_domain} rows), about {_duration(self.seconds)} per round on this machine")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@cache
def msm_14_seconds() -> float:
    """This machine's G1 MSM of 2^14 points, best of three (measured once per process)."""
    from ..bench.native import random_points
    from ..bn254 import FrArray, G1Array

    rng = random.Random(14)  # calibration data only
    n = 1 << CALIBRATION_LOG_N
    points, scalars = random_points(G1Array, n, rng), FrArray.random(n, rng)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        points.msm(scalars)
        best = min(best, time.perf_counter() - start)
    return best


def _msm_cost(log_n: int) -> float:
    return (1 << log_n) / max(log_n - 3, 1)


def estimate(job: AggregationJob, *, msm_14_s: float | None = None) -> ProvingEstimate:
    """The proving estimate of one round of `job` (no circuit is built)."""
    config, layout = job.config, job.layout
    constraints = n_constraints(config.n_clients, layout.chunk_len, layout.depth)
    rows = constraints + 2 * config.n_clients + 3  # the public inputs' rows, as AggregationJob.fitting
    log_domain = max(1, (rows - 1).bit_length())
    calibration = msm_14_seconds() if msm_14_s is None else msm_14_s
    msm = calibration * _msm_cost(log_domain) / _msm_cost(CALIBRATION_LOG_N)
    witness = constraints * WITNESS_S_PER_CONSTRAINT * calibration / REFERENCE_MSM_14_S
    seconds = layout.n_chunks * (PROOF_MSMS * msm + witness)
    return ProvingEstimate(layout.n_chunks, constraints, log_domain, seconds, calibration)


def check_budget(est: ProvingEstimate, limit_s: float | None) -> None:
    """ProvingBudgetError when the estimate exceeds `limit_s` (None: no limit)."""
    if limit_s is None:
        return
    if isinstance(limit_s, bool) or not isinstance(limit_s, int | float) or not limit_s > 0:
        raise InputError(f"max_round_seconds must be a positive number of seconds or None, not {limit_s!r}")
    if est.seconds > limit_s:
        raise ProvingBudgetError(
            f"a round would need {est}, above max_round_seconds={limit_s:g}: use fewer clients or "
            "parameters, prove chunks on a cluster (Ray), or raise max_round_seconds")

"""RoundCheckV2 acceptance gas with a random gamma (zkagg's own setup) and with gamma = [1]_2
(the ptau phase-2 convention, one pairing pair fewer; the key is the tests' insecure one, since
zkagg's setup refuses gamma = G2 today). Small chunks (L = 16): the gas depends on L only through
z^L. Run from the repository root: python benchmarks/round_v2_gamma_gas.py [--json PATH]."""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_kzg_round import unit_gamma_prover  # noqa: E402
from zkagg import kzg  # noqa: E402
from zkagg.aggregation import kzg_round as kr  # noqa: E402
from zkagg.bench.round_v2 import _round_inputs  # noqa: E402
from zkagg.bench.timing import write_json  # noqa: E402
from zkagg.chain import round_check_v2 as rc  # noqa: E402
from zkagg.chain.client import Chain  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    args = ap.parse_args()
    rng = random.Random(5)  # benchmark data and test-only keys
    chain = Chain.embedded()
    sender = chain.new_account()
    ledger = bytes.fromhex(sender.address[2:])
    rows = []
    for gamma, prover in (("random", kr.ChunkProver.insecure_single_party_setup(16, rng)), ("unit", unit_gamma_prover(16, rng))):
        for m, n in ((1, 8), (7, 10)):
            shape = kr.RoundShape(16 * m, 16)
            srs = kzg.Srs.insecure_from_tau(kzg.random_tau(rng), shape.blind_index + 1)
            inputs = _round_inputs(shape, srs, n, rng)
            address = rc.deploy(chain, prover.pk.vk, srs.tau_g2, 16, sender)
            ctx = kr.RoundContext(chain.w3.eth.chain_id, ledger, secrets.token_bytes(32), 1)
            proof = kr.prove_round(prover, srs, ctx, shape, aggregate=inputs["aggregate"], rho=inputs["rho"],
                                   total_weight=inputs["total_weight"], c_s=inputs["c_s"])
            gas = rc.check_round_gas(chain, address, rc.round_calldata(ctx, inputs["points"], proof), sender)
            rows.append({"gamma": gamma, "chunks": m, "points": n, "accept_gas": gas})
            print(rows[-1])
    write_json({"gas": rows, "load": os.getloadavg()[0]}, args.json)


if __name__ == "__main__":
    main()

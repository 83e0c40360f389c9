"""Per-round cost of zkagg against Flower's SecAgg+ on the same Flower app (issue 16).

The app is the template's task (`zkagg.flower.app_template.task`: a 61,939-parameter CNN on the
digits, 5 nodes, one local epoch, 3 rounds) with a legacy NumPyClient; the only difference
between the two runs is the client mod and the fit workflow (SecAgg+: `secaggplus_mod` and
`SecAggPlusWorkflow(num_shares=4, reconstruction_threshold=3)`; zkagg: `zkagg_mod` and
`ZkaggWorkflow`, in-memory ledger served to the workers, single-party setup). Each kind runs in
its own process: per-round wall time of the fit workflow (round 1 includes zkagg's setup) and
the server process's peak resident memory (the Ray workers' is not counted).

    python benchmarks/flower_app_rounds.py [--hidden 411] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

N_NODES = 5


def run(kind: str, hidden: int, rounds: int) -> dict[str, Any]:
    import numpy as np
    import torch
    from flwr.app import Context
    from flwr.client import NumPyClient
    from flwr.client.mod import secaggplus_mod
    from flwr.clientapp import ClientApp
    from flwr.common import ndarrays_to_parameters
    from flwr.server import LegacyContext, ServerConfig
    from flwr.server.strategy import FedAvg
    from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
    from flwr.serverapp import Grid, ServerApp
    from flwr.simulation import run_simulation

    from zkagg.flower import LedgerServer, ZkaggWorkflow, zkagg_mod
    from zkagg.flower.app_template.task import Net, train
    from zkagg.ledger import MemoryLedger
    from zkagg.secagg import Quantization

    class DigitsClient(NumPyClient):
        def __init__(self, shard: int) -> None:
            self.shard = shard

        def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict]:
            torch.set_num_threads(1)
            net = Net(hidden)
            keys = list(net.state_dict())
            net.load_state_dict({k: torch.from_numpy(np.array(p)) for k, p in zip(keys, parameters)})
            n, _ = train(net, self.shard, N_NODES, 1, 0.05)
            return [v.numpy() for v in net.state_dict().values()], n, {}

    def client_fn(context: Context) -> Any:
        return DigitsClient(int(context.node_config["partition-id"])).to_client()

    seconds: list[float] = []

    class Timed:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __call__(self, grid: Grid, context: Context) -> None:
            start = time.perf_counter()
            self.inner(grid, context)
            seconds.append(time.perf_counter() - start)

    initial = [v.numpy() for v in Net(hidden).state_dict().values()]
    served = LedgerServer(MemoryLedger()) if kind == "zkagg" else None
    if served is not None:
        fit: Any = ZkaggWorkflow(n_clients=N_NODES, ledger=served.ledger, max_weight=1000, neighbours=4,
                                 quantization=Quantization(bits=16, frac_bits=12, clip=4.0),
                                 setup="insecure_single_party_setup")
        mod = zkagg_mod(served.remote())
    else:
        fit, mod = SecAggPlusWorkflow(num_shares=4, reconstruction_threshold=3), secaggplus_mod
    server_app = ServerApp()

    @server_app.main()
    def main(grid: Grid, context: Context) -> None:
        strategy = FedAvg(initial_parameters=ndarrays_to_parameters(initial), fraction_evaluate=0.0,
                          min_fit_clients=N_NODES, min_available_clients=N_NODES)
        legacy = LegacyContext(context, config=ServerConfig(num_rounds=rounds), strategy=strategy)
        DefaultWorkflow(fit_workflow=Timed(fit))(grid, legacy)

    run_simulation(server_app, ClientApp(client_fn=client_fn, mods=[mod]), num_supernodes=N_NODES,
                   backend_config={"client_resources": {"num_cpus": 1}})
    if served is not None:
        served.close()
    return {"kind": kind, "parameters": sum(p.size for p in initial), "round_seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=411)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--only", choices=["secagg+", "zkagg"])
    args = parser.parse_args()
    if args.only:
        print(json.dumps(run(args.only, args.hidden, args.rounds)))
        return
    results = []
    for kind in ("secagg+", "zkagg"):
        out = subprocess.run([sys.executable, __file__, "--only", kind, "--hidden", str(args.hidden),
                              "--rounds", str(args.rounds)], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

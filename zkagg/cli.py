"""The `zkagg` command line. Each command is a few lines over a public function."""

from __future__ import annotations

import argparse
import sys

from .ceremony import cli as ceremony_cli
from .errors import ZkaggError


def _bench(args: argparse.Namespace) -> int:
    from .bench import aggregation, native, prove, secagg
    from .bench.timing import write_json

    if args.suite == "gas":
        from .bench import gas

        result = gas.run(rpc=args.rpc)
        print(gas.table(result))
    elif args.suite == "native":
        result = native.run(quick=args.quick, threads=args.threads)
        print(native.table(result))
    elif args.suite == "prove":
        result = prove.run(quick=args.quick)
        print(prove.table(result))
    elif args.suite == "secagg":
        result = secagg.run(quick=args.quick)
        print(secagg.table(result))
    elif args.suite == "setup":
        from .bench import setup

        result = setup.run(quick=args.quick)
        print(setup.table(result))
    else:
        options = {k: v for k, v in (("ray_address", args.ray), ("load", args.load)) if v}
        result = aggregation.run(quick=args.quick, **options)
        print(aggregation.table(result))
    write_json(result, args.json)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .fl import demo, report

    config = demo.DemoConfig(rounds=args.rounds, seed=args.seed)
    console = Console()
    with report.progress(console, config) as events:
        result = demo.run(config, ledger=args.ledger, rpc=args.rpc, events=events)
    console.print(report.table(result))
    for line in result.audit_lines:
        console.print(line, highlight=False)
    console.print(report.summary(result))
    report.plot(result, args.plot)
    console.print(f"plot: {args.plot}")
    if args.json:
        report.write_json(result, args.json)
    return 0 if result.audit_ok else 1


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .chain.verifier import render_verifier
    from .groth16 import VerifyingKey

    data = Path(args.vk_file).read_bytes()
    if data.lstrip()[:1] == b"{":
        import json

        vk = VerifyingKey.from_snarkjs(json.loads(data))
    else:
        vk = VerifyingKey.from_bytes(data)
    source = render_verifier(vk, args.name)
    if args.output:
        Path(args.output).write_text(source)
    else:
        sys.stdout.write(source)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from web3 import Web3

    from .chain.audit import audit
    from .chain.client import Chain, LedgerContract
    from .chain.store import ContentStore, DirectoryStore
    from .errors import InputError

    try:
        job_id = bytes.fromhex(args.job.removeprefix("0x"))
        address = Web3.to_checksum_address(args.ledger)
    except ValueError as err:
        raise InputError(f"--job must be 64 hex digits and --ledger an address: {err}") from None
    if len(job_id) != 32:
        raise InputError("--job must be 64 hex digits (32 bytes)")
    chain = Chain.connect(args.rpc)
    ledger = LedgerContract(chain, address, args.from_block)
    store = ContentStore(DirectoryStore(Path(args.store))) if args.store else None
    report = audit(ledger, job_id, store)
    print(report.format())
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zkagg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="run a benchmark suite and optionally write JSON")
    bench.add_argument(
        "suite", choices=["native", "prove", "secagg", "round", "gas", "setup"],
        help="native: field/curve/MSM/NTT kernels; prove: Groth16 against snarkjs on the same R1CS; "
        "secagg: client masking and unmasking against Flower's SecAgg+ primitives; "
        "round: aggregation rounds proved end to end; "
        "gas: ledger operations and round acceptance against snarkjs's verifier; "
        "setup: powers of tau and phase 2 against snarkjs",
    )
    bench.add_argument("--quick", action="store_true", help="small sizes only")
    bench.add_argument("--json", metavar="PATH", help="write the results as one JSON object")
    bench.add_argument("--threads", type=int, help="threads for the native core (default: all CPUs)")
    bench.add_argument("--rpc", metavar="URL", help="gas: a JSON-RPC node (default: the embedded EVM)")
    bench.add_argument("--ray", metavar="ADDRESS",
                       help="round: prove on the Ray cluster at ADDRESS ('local' starts one here) with "
                       "1 and 2 workers and report ray_speedup")
    bench.add_argument("--load", action="store_true",
                       help="round: one round of 100 clients x 10^5 parameters, reporting peak_rss_mb")
    bench.set_defaults(func=_bench)
    demo = sub.add_parser(
        "demo", help="federated learning on scikit-learn's digits, every round proved and accepted "
        "on a ledger, beside plain float FedAvg (needs the demo extra)")
    demo.add_argument("--rounds", type=int, default=5, help="FL rounds (default 5)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the data split and training")
    demo.add_argument("--json", metavar="PATH", help="write the per-round table and final figures")
    demo.add_argument("--plot", metavar="PATH", default="zkagg-demo.png",
                      help="PNG of accuracy per round (default zkagg-demo.png)")
    demo.add_argument("--ledger", choices=["chain", "memory"], default="chain",
                      help="chain: the contracts, on the embedded EVM unless --rpc (default); "
                      "memory: the in-memory ledger")
    demo.add_argument("--rpc", metavar="URL", help="a JSON-RPC node for the chain ledger "
                      "(default: the embedded EVM)")
    demo.set_defaults(func=_demo)

    export = sub.add_parser("export", help="export artifacts for other tools")
    export.add_argument("what", choices=["solidity"], help="solidity: the standalone Groth16 verifier")
    export.add_argument("vk_file", metavar="VK_FILE", help="verifying key (zkagg bytes or snarkjs JSON)")
    export.add_argument("-o", "--output", metavar="OUT.sol", help="output file (default: stdout)")
    export.add_argument("--name", default="Groth16Verifier", help="contract name")
    export.set_defaults(func=_export)

    aud = sub.add_parser("audit", help="replay a job from the chain and re-verify every round")
    aud.add_argument("--rpc", required=True, metavar="URL", help="JSON-RPC node")
    aud.add_argument("--ledger", required=True, metavar="ADDRESS", help="JobLedger contract address")
    aud.add_argument("--job", required=True, metavar="ID", help="job id (64 hex digits)")
    aud.add_argument("--store", metavar="DIR", help="content-addressed store to check models in")
    aud.add_argument("--from-block", type=int, default=0, help="first block to read events from")
    aud.set_defaults(func=_audit)
    ceremony_cli.register(sub)  # zkagg ptau ..., zkagg groth16 ...
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ZkaggError as err:
        print(f"zkagg: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The `zkagg` command line. Each command is a few lines over a public function."""

from __future__ import annotations

import argparse
import sys

from .errors import ZkaggError


def _bench(args: argparse.Namespace) -> int:
    from .bench import aggregation, native, prove, secagg
    from .bench.timing import write_json

    if args.suite == "native":
        result = native.run(quick=args.quick, threads=args.threads)
        print(native.table(result))
    elif args.suite == "prove":
        result = prove.run(quick=args.quick)
        print(prove.table(result))
    elif args.suite == "secagg":
        result = secagg.run(quick=args.quick)
        print(secagg.table(result))
    else:
        options = {k: v for k, v in (("ray_address", args.ray), ("load", args.load)) if v}
        result = aggregation.run(quick=args.quick, **options)
        print(aggregation.table(result))
    write_json(result, args.json)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zkagg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="run a benchmark suite and optionally write JSON")
    bench.add_argument(
        "suite", choices=["native", "prove", "secagg", "round"],
        help="native: field/curve/MSM/NTT kernels; prove: Groth16 against snarkjs on the same R1CS; "
        "secagg: client masking and unmasking against Flower's SecAgg+ primitives; "
        "round: aggregation rounds proved end to end",
    )
    bench.add_argument("--quick", action="store_true", help="small sizes only")
    bench.add_argument("--json", metavar="PATH", help="write the results as one JSON object")
    bench.add_argument("--threads", type=int, help="threads for the native core (default: all CPUs)")
    bench.add_argument("--ray", metavar="ADDRESS",
                       help="round: prove on the Ray cluster at ADDRESS ('local' starts one here) with "
                       "1 and 2 workers and report ray_speedup")
    bench.add_argument("--load", action="store_true",
                       help="round: one round of 100 clients x 10^5 parameters, reporting peak_rss_mb")
    bench.set_defaults(func=_bench)
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

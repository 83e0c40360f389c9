"""The `zkagg` command line. Each command is a few lines over a public function.

Every path and argument is checked before any long work starts, and every failure ends in one
line on stderr, `zkagg: error: ...`, with a non-zero exit (2: bad input or a failed operation,
130: interrupted). Commands added through `build_parser` inherit this from `main`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from .ceremony import cli as ceremony_cli
from .errors import InputError, ZkaggError

#: exit codes
EXIT_ERROR, EXIT_INTERRUPTED = 2, 130
#: upper bound of --threads (the native core caps its pool far below this)
MAX_THREADS = 1024
#: bound of the chain time budgets, in seconds
MAX_TIMEOUT_S = 86_400


class CommandLineError(InputError):
    """A command-line argument or path is invalid."""


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors as one line (subparsers are made of this class too)."""

    def error(self, message: str) -> NoReturn:
        print(f"zkagg: error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


# ---- argument types: each refuses by name before anything runs ------------------------------

def _int_in(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, not {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], not {text[:40]}")
        return value

    parse.__name__ = "integer"
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, not {text[:40]!r}") from None
    if not 0 < value <= MAX_TIMEOUT_S:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be in (0, {MAX_TIMEOUT_S}] seconds, not {text[:40]}")
    return value


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")) or len(text) < 10 or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL, not {text[:60]!r}")
    return text


def output_path(option: str, path: str, suffixes: tuple[str, ...] = ()) -> Path:
    """`path` if a file can be written there: its folder exists and is writable, it is not a folder."""
    if not path:
        raise CommandLineError(f"{option}: an empty path")
    p = Path(path)
    if p.is_dir():
        raise CommandLineError(f"{option}: {path!r} is a folder, not a file name")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise CommandLineError(f"{option}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise CommandLineError(f"{option}: {path!r} is not writable")
    if suffixes and p.suffix.lower() not in suffixes:
        raise CommandLineError(f"{option}: {path!r} must end with one of {', '.join(suffixes)}")
    return p


def input_file(option: str, path: str, limit: int = 64 << 20) -> bytes:
    """The bytes of a readable regular file of at most `limit` bytes."""
    p = Path(path)
    if not p.exists():
        raise CommandLineError(f"{option}: {path!r} does not exist")
    if not p.is_file():
        raise CommandLineError(f"{option}: {path!r} is not a regular file")
    try:
        if p.stat().st_size > limit:
            raise CommandLineError(f"{option}: {path!r} is larger than {limit >> 20} MiB")
        return p.read_bytes()
    except OSError as err:
        raise CommandLineError(f"{option}: cannot read {path!r}: {err.strerror or err}") from None


#: deepest JSON nesting a key file may have (the parser recurses once per level)
MAX_JSON_DEPTH = 64


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings ignored).
    Measured before parsing: with the recursion limit raised (py-ecc raises it), deep nesting
    would overflow the C stack instead of raising RecursionError."""
    import re

    import numpy as np

    bare = np.frombuffer(re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', data), dtype=np.uint8)
    steps = np.isin(bare, (ord("["), ord("{"))).astype(np.int64) - np.isin(bare, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def parse_json(option: str, data: bytes) -> Any:
    """JSON text (UTF-8) as Python values; malformed, non-UTF-8, too deep or too large numbers
    raise CommandLineError."""
    import json

    if json_depth(data) > MAX_JSON_DEPTH:
        raise CommandLineError(f"{option}: JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise CommandLineError(f"{option}: the file is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise CommandLineError(f"{option}: not JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise CommandLineError(f"{option}: JSON nested too deeply") from None
    except ValueError as err:  # e.g. an integer beyond Python's digit limit
        raise CommandLineError(f"{option}: unreadable JSON value: {err}") from None


def _timeouts(args: argparse.Namespace) -> Any:
    from .chain.transport import Timeouts

    return Timeouts(request_s=args.timeout, receipt_s=args.receipt_timeout)


def _progress(text: str) -> None:
    print(f"zkagg: waiting: {text}", file=sys.stderr, flush=True)


def _store_folder(option: str, path: str) -> Path:
    """A folder a content store can write to: made if missing (its parent must exist)."""
    folder = output_path(option, path) if not Path(path).is_dir() else Path(path)
    try:
        folder.mkdir(exist_ok=True)
    except OSError as err:
        raise CommandLineError(f"{option}: cannot make the folder {path!r}: {err.strerror or err}") from None
    if not os.access(folder, os.W_OK):
        raise CommandLineError(f"{option}: {path!r} is not writable")
    return folder


# ---- commands ---------------------------------------------------------------------------------

def _bench(args: argparse.Namespace) -> int:
    from .bench.timing import write_json

    for option, value, suites in (("--rpc", args.rpc, ("gas",)), ("--ray", args.ray, ("round",)),
                                  ("--load", args.load, ("round",)),
                                  ("--threads", args.threads, ("native",))):
        if value not in (None, False) and args.suite not in suites:
            raise CommandLineError(f"{option} applies to bench {' or '.join(suites)}, not {args.suite}")
    if args.json is not None:
        output_path("--json", args.json)
    if args.ray is not None and args.ray != "local":
        from .aggregation.ray_address import check_reachable

        check_reachable(args.ray)

    from .bench import aggregation, native, prove, secagg

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
    elif args.ray is not None or args.load:  # the v1 statement's per-client benchmark (Ray, load)
        options = {k: v for k, v in (("ray_address", args.ray), ("load", args.load)) if v}
        result = aggregation.run(quick=args.quick, **options)
        print(aggregation.table(result))
    else:
        from .bench import round_v2

        result = round_v2.run(quick=args.quick)
        print(round_v2.table(result))
    write_json(result, args.json)
    return 0


def _demo(args: argparse.Namespace) -> int:
    if args.json is not None:
        output_path("--json", args.json)
    output_path("--plot", args.plot, (".png", ".pdf", ".svg"))
    if args.rpc and args.ledger != "chain":
        raise CommandLineError("--rpc needs the chain ledger (--ledger chain)")
    # the models go beside the plot unless --store names a folder; a node outlives the run, and
    # then `zkagg audit --store` checks the stored models against the chain later
    store_dir = args.store or (str(Path(args.plot).parent / "zkagg-demo-store") if args.rpc else None)
    if args.store is not None and args.ledger != "chain":
        raise CommandLineError("--store needs the chain ledger (--ledger chain)")
    if store_dir is not None:
        _store_folder("--store", store_dir)

    from rich.console import Console

    from .fl import demo, report

    config = demo.DemoConfig(rounds=args.rounds, seed=args.seed)
    console = Console()
    with report.progress(console, config) as events:
        result = demo.run(config, ledger=args.ledger, rpc=args.rpc, events=events,
                          timeouts=_timeouts(args), store_dir=store_dir)
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
    from .chain.verifier import check_name, render_verifier
    from .groth16 import VerifyingKey

    check_name(args.name)
    if args.output is not None:
        output_path("--output", args.output)
    data = input_file("VK_FILE", args.vk_file)
    if data.lstrip()[:1] == b"{":
        obj = parse_json("VK_FILE", data)
        if not isinstance(obj, dict):
            raise CommandLineError("VK_FILE: a snarkjs verifying key is a JSON object")
        vk = VerifyingKey.from_snarkjs(obj)
    else:
        vk = VerifyingKey.from_bytes(data)
    source = render_verifier(vk, args.name)
    if args.output:
        Path(args.output).write_text(source)
    else:
        sys.stdout.write(source)
    return 0


def _new(args: argparse.Namespace) -> int:
    from .flower.new_app import write_app

    if not args.folder:
        raise CommandLineError("DIR: an empty path")
    project = write_app(Path(args.folder), supernodes=args.supernodes)
    print(f"wrote {project.parent}; run it with\n  flwr run {project.parent} local-simulation "
          f"--federation-config \"num-supernodes={args.supernodes}\"\n"
          "(the ledger, its port and key are in the run config of its pyproject.toml)")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from web3 import Web3

    from .chain.store import ContentStore, DirectoryStore

    try:
        job_id = bytes.fromhex(args.job.removeprefix("0x"))
    except ValueError:
        raise CommandLineError(f"--job must be 64 hex digits, not {args.job[:70]!r}") from None
    if len(job_id) != 32:
        raise CommandLineError("--job must be 64 hex digits (32 bytes)")
    if not Web3.is_address(args.ledger):
        raise CommandLineError(f"--ledger must be a contract address (0x and 40 hex digits), not {args.ledger[:50]!r}")
    address = Web3.to_checksum_address(args.ledger)
    if args.store is not None and (not args.store or not Path(args.store).is_dir()):
        raise CommandLineError(f"--store: {args.store!r} is not a folder")

    from .chain.audit import audit
    from .chain.client import Chain, ChainError, LedgerContract
    from .chain.transport import doing

    chain = Chain.connect(args.rpc, timeouts=_timeouts(args), progress=_progress)
    with doing("reading the ledger's code"):
        if not chain.w3.eth.get_code(address):
            raise ChainError(f"no contract at {address} on the node at {args.rpc}")
    ledger = LedgerContract(chain, address, args.from_block)
    store = ContentStore(DirectoryStore(Path(args.store))) if args.store else None
    report = audit(ledger, job_id, store)
    print(report.format())
    return 0 if report.ok else 1


def _chain_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=_seconds, default=30.0, metavar="S",
                   help="a node request's time budget, retries included (default 30)")
    p.add_argument("--receipt-timeout", type=_seconds, default=120.0, metavar="S",
                   help="how long to wait for a transaction's receipt (default 120)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="zkagg", description=__doc__)
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
    bench.add_argument("--threads", type=_int_in(1, MAX_THREADS),
                       help="native: threads for the native core (default: all CPUs)")
    bench.add_argument("--rpc", metavar="URL", type=_url,
                       help="gas: a JSON-RPC node (default: the embedded EVM)")
    bench.add_argument("--ray", metavar="ADDRESS",
                       help="round: prove on the Ray cluster at ADDRESS ('local' starts one here) with "
                       "1 and 2 workers and report ray_speedup")
    bench.add_argument("--load", action="store_true",
                       help="round: one round of 100 clients x 10^5 parameters, reporting peak_rss_mb")
    bench.set_defaults(func=_bench)
    demo = sub.add_parser(
        "demo", help="federated learning on scikit-learn's digits, every round proved and accepted "
        "on a ledger, beside plain float FedAvg (needs the demo extra)")
    demo.add_argument("--rounds", type=_int_in(1, 1000), default=5, help="FL rounds (default 5)")
    demo.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=0,
                      help="seed of the data split and training")
    demo.add_argument("--json", metavar="PATH", help="write the per-round table, final figures, "
                      "ledger address and job id")
    demo.add_argument("--plot", metavar="PATH", default="zkagg-demo.png",
                      help="PNG (or .pdf, .svg) of accuracy per round (default zkagg-demo.png)")
    demo.add_argument("--ledger", choices=["chain", "memory"], default="chain",
                      help="chain: the contracts, on the embedded EVM unless --rpc (default); "
                      "memory: the in-memory ledger")
    demo.add_argument("--rpc", metavar="URL", type=_url, help="a JSON-RPC node for the chain ledger "
                      "(default: the embedded EVM)")
    demo.add_argument("--store", metavar="DIR", help="folder of the content store the published "
                      "models go to (default with --rpc: zkagg-demo-store beside the plot; "
                      "otherwise in memory)")
    _chain_options(demo)
    demo.set_defaults(func=_demo)

    export = sub.add_parser("export", help="export artifacts for other tools")
    export.add_argument("what", choices=["solidity"], help="solidity: the standalone Groth16 verifier")
    export.add_argument("vk_file", metavar="VK_FILE", help="verifying key (zkagg bytes or snarkjs JSON)")
    export.add_argument("-o", "--output", metavar="OUT.sol", help="output file (default: stdout)")
    export.add_argument("--name", default="Groth16Verifier", help="contract name")
    export.set_defaults(func=_export)

    aud = sub.add_parser("audit", help="replay a job from the chain and re-verify every round")
    aud.add_argument("--rpc", required=True, metavar="URL", type=_url, help="JSON-RPC node")
    aud.add_argument("--ledger", required=True, metavar="ADDRESS", help="JobLedger contract address")
    aud.add_argument("--job", required=True, metavar="ID", help="job id (64 hex digits)")
    aud.add_argument("--store", metavar="DIR", help="content-addressed store to check models in")
    aud.add_argument("--from-block", type=_int_in(0, 2**63 - 1), default=0,
                     help="first block to read events from")
    _chain_options(aud)
    aud.set_defaults(func=_audit)
    new = sub.add_parser("new", help="write a project from a template")
    new.add_argument("what", choices=["flower-app"],
                     help="flower-app: a Flower app (flwr run / run_simulation) with proved rounds")
    new.add_argument("folder", metavar="DIR", help="a new or empty folder")
    new.add_argument("--supernodes", type=_int_in(2, 1000), default=5, help="simulated nodes (default 5)")
    new.set_defaults(func=_new)
    ceremony_cli.register(sub)  # zkagg ptau ..., zkagg groth16 ...
    return parser


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure is one `zkagg: error:` line on stderr and a non-zero code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error already printed as one line
        return int(exit_.code or 0)
    try:
        return int(args.func(args))
    except ZkaggError as err:
        print(f"zkagg: error: {_one_line(str(err))}", file=sys.stderr)
    except KeyboardInterrupt:
        print("zkagg: error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as err:  # a file or socket failed where no check could foresee it (disk full)
        where = f" {err.filename!r}" if err.filename else ""
        print(f"zkagg: error: {type(err).__name__}{where}: {_one_line(err.strerror or str(err))}",
              file=sys.stderr)
    except MemoryError:
        print("zkagg: error: out of memory", file=sys.stderr)
    except Exception as err:  # a bug: still one line, with the traceback on request
        if os.environ.get("ZKAGG_TRACEBACK"):
            raise
        print(f"zkagg: error: internal error {type(err).__name__}: {_one_line(str(err))[:300]} "
              "(ZKAGG_TRACEBACK=1 shows where)", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

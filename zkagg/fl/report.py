"""How `zkagg demo` shows its figures: rich progress and table, a matplotlib plot, a JSON file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .demo import DemoConfig, DemoResult, Events, RoundRow


@contextmanager
def progress(console: Console, config: DemoConfig) -> Iterator[Events]:
    """Two progress bars (proved rounds, and every step with the current one named) and a line
    per round as it is accepted; yields the Events that drive them."""
    columns = (TextColumn("{task.description:<58}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        rounds = bar.add_task("rounds proved and accepted", total=config.rounds)
        steps = bar.add_task("starting", total=config.steps())
        started = False

        def step(description: str) -> None:
            nonlocal started
            bar.update(steps, description=description, advance=1 if started else 0)
            started = True

        def round_done(row: RoundRow) -> None:
            bar.advance(rounds)
            bar.console.print(
                f"round {row.round}: accuracy {_pct(row.accuracy)} (FedAvg {_pct(row.fedavg_accuracy)}), "
                f"proof {row.prove_s:.2f} s, dropped {row.dropped or '-'}")

        def waiting(text: str) -> None:
            bar.update(steps, description=f"waiting: {text}"[:58])

        yield Events(step, round_done, waiting)
        bar.update(steps, description="done", completed=config.steps())


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def table(result: DemoResult) -> Table:
    t = Table(title=f"zkagg demo: {result.config.n_clients} clients, digits, {result.ledger}",
              box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for name in ("round", "accuracy", "FedAvg", "dropped", "N", "proof", "accept gas", "round gas",
                 "max err"):
        t.add_column(name, justify="right")
    for r in result.rows:
        t.add_row(str(r.round), _pct(r.accuracy), _pct(r.fedavg_accuracy),
                  ", ".join(map(str, r.dropped)) or "-", str(r.total_weight), f"{r.prove_s:.2f} s",
                  "-" if r.gas is None else f"{r.gas:,}",
                  "-" if r.round_gas is None else f"{r.round_gas:,}", f"{r.max_error:.1e}")
    return t


def summary(result: DemoResult) -> str:
    gap = 100 * (result.final_accuracy - result.fedavg_accuracy)
    return "\n".join([
        f"model: {result.parameters} parameters; chunk circuit: {result.constraints:,} constraints "
        f"× {result.chunks} chunk(s); setup {result.setup_s:.1f} s",
        f"final accuracy {_pct(result.final_accuracy)} (float FedAvg {_pct(result.fedavg_accuracy)}, "
        f"difference {gap:+.2f} points; initial {_pct(result.initial_accuracy)})",
        f"audit: {'every round checks out against the ledger' if result.audit_ok else 'FAILED'}; "
        f"total {result.total_s:.1f} s",
        *ledger_lines(result),
    ])


def ledger_lines(result: DemoResult) -> list[str]:
    """Where the job lives, and the command that audits it again (on a node that outlives the run)."""
    lines = [f"job id: {result.job_id}"]
    if result.ledger_address:
        lines.append(f"ledger: {result.ledger_address} ({result.rpc or 'embedded EVM, gone after the run'})")
    if result.ledger_address and result.rpc:
        store = f" --store {result.store_dir}" if result.store_dir else ""
        lines.append(f"audit again: zkagg audit --rpc {result.rpc} --ledger {result.ledger_address} "
                     f"--job {result.job_id}{store}")
    return lines


def plot(result: DemoResult, path: str | Path) -> None:
    """Accuracy after each round, proved model beside float FedAvg; x is the number of rounds
    completed (0: the initial model; the ledger numbers the first round 0, so x = round + 1)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    rounds = [0] + [r.round + 1 for r in result.rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(rounds, [100 * result.initial_accuracy] + [100 * r.fedavg_accuracy for r in result.rows],
            "s-", color="tab:gray", alpha=0.5, linewidth=4, markersize=9,
            label="float FedAvg (not private)")
    ax.plot(rounds, [100 * result.initial_accuracy] + [100 * r.accuracy for r in result.rows],
            "o-", color="tab:blue", label="zkagg (secure aggregation, proved)")
    for r in result.rows:
        if r.dropped:
            ax.axvline(r.round + 1, color="tab:red", alpha=0.3)
            ax.text(r.round + 1 - 0.05, 25, f"client {', '.join(map(str, r.dropped))} drops out",
                    color="tab:red", fontsize=8, rotation=90, ha="right")
    ax.set(xlabel="rounds completed", ylabel="test accuracy (%)", ylim=(0, 100), xticks=rounds,
           title=f"Digits, {result.config.n_clients} label-skewed clients: proved vs float FedAvg")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_json(result: DemoResult, path: str | Path) -> None:
    Path(path).write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")

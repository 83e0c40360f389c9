"""The demo's model and local training: a small torch MLP, plain SGD, and float FedAvg.

Every random draw comes from a torch Generator seeded from (seed, round, client), so a client's
local training is the same whichever global model (private or float baseline) it starts from.
torch is imported here only: the rest of zkagg does not need it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from .digits import Split

StateDict = dict[str, torch.Tensor]


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread: the model is tiny, and torch's thread pool spins badly when the
    cores are shared (with zkagg's native threads or other jobs), up to 10× slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_model(hidden: int = 32, *, seed: int = 0) -> nn.Module:
    """MLP 64 → hidden → 10 with ReLU; its initial weights depend on `seed` only."""
    with torch.random.fork_rng():  # leave the caller's global torch RNG as it was
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train_locally(model: nn.Module, start: Mapping[str, torch.Tensor], data: Split, *, epochs: int,
                  lr: float, batch_size: int, seed: int) -> StateDict:
    """`model` loaded with `start`, trained on `data` with mini-batch SGD; its new state_dict."""
    model.load_state_dict(start)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        for at in range(0, len(y), batch_size):
            batch = order[at : at + batch_size]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def accuracy(model: nn.Module, state: Mapping[str, torch.Tensor], data: Split) -> float:
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(data.x)).argmax(dim=1).numpy()
    return float(np.mean(predicted == data.y))


def fedavg(states: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[int]) -> StateDict:
    """Plain float FedAvg: the weighted mean of the states, in float64, cast back to each dtype."""
    total = float(sum(weights))
    out: StateDict = {}
    for name, ref in states[0].items():
        acc = torch.zeros_like(ref, dtype=torch.float64)
        for s, w in zip(states, weights):
            acc += s[name].double() * w
        out[name] = (acc / total).to(ref.dtype)
    return out


def client_seed(seed: int, round: int, client: int) -> int:
    """The seed of one client's local training in one round."""
    return (seed * 1_000_003 + round) * 1_009 + client

"""The learning task: a small CNN on scikit-learn's 8×8 digits, one label-skewed shard per node."""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch import nn

from zkagg.fl.digits import Federation, load


class Net(nn.Module):
    """Two 3×3 convolutions with pooling, then two dense layers (61,939 parameters at hidden=411)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 2 * 2, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.max_pool2d(torch.relu(self.conv1(x.view(-1, 1, 8, 8))), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


@cache
def federation(n_shards: int) -> Federation:
    return load(n_clients=n_shards, seed=0)


def train(net: Net, shard: int, n_shards: int, epochs: int, lr: float) -> tuple[int, float]:
    """Local SGD on the shard; returns (number of examples, last epoch's mean loss)."""
    data = federation(n_shards).clients[shard]
    x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    loss_sum = 0.0
    for _ in range(epochs):
        loss_sum = 0.0
        for batch in torch.randperm(len(y)).split(32):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(batch)
    return len(y), loss_sum / len(y)


def evaluate(net: Net, n_shards: int) -> tuple[int, float]:
    """(test examples, accuracy) on the held-out digits."""
    test = federation(n_shards).test
    with torch.no_grad():
        guess = net(torch.from_numpy(test.x)).argmax(1).numpy()
    return len(test.y), float(np.mean(guess == test.y))

"""The demo's data: scikit-learn's bundled handwritten digits, split non-IID across clients.

load_digits ships with scikit-learn (1797 images of 8×8 pixels, 10 classes), so the demo needs no
download. Each class is divided among the clients in proportions drawn from a Dirichlet
distribution (label skew: most clients see a few classes much more than the others). numpy's
generator here only shuffles data, with a fixed seed; it never touches the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import InputError, check_int


@dataclass(frozen=True)
class Split:
    x: npt.NDArray[np.float32]  # (samples, 64) pixels scaled to [0, 1]
    y: npt.NDArray[np.int64]  # (samples,) class labels 0..9


@dataclass(frozen=True)
class Federation:
    clients: tuple[Split, ...]
    test: Split

    @property
    def sizes(self) -> list[int]:
        return [len(c.y) for c in self.clients]


def load(*, n_clients: int, alpha: float = 0.5, test_fraction: float = 0.2, seed: int = 0,
         min_samples: int = 10) -> Federation:
    """Digits split into a stratified test set and `n_clients` label-skewed training shards.

    Smaller `alpha` means more skew. Draws are repeated (same seed stream) until every client
    has at least `min_samples` samples.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    check_int("n_clients", n_clients, 1)
    if not alpha > 0:
        raise InputError(f"alpha must be > 0, not {alpha}")
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed)
    rng = np.random.default_rng(seed)
    for _ in range(100):
        shards = _dirichlet_shards(y_train, n_clients, alpha, rng)
        if min(len(s) for s in shards) >= min_samples:
            break
    else:
        raise InputError(f"no split gives every client {min_samples} samples; raise alpha")
    clients = tuple(Split(x_train[s], y_train[s]) for s in shards)
    return Federation(clients, Split(x_test, y_test))


def _dirichlet_shards(y: npt.NDArray[np.int64], n_clients: int, alpha: float,
                      rng: np.random.Generator) -> list[npt.NDArray[np.int64]]:
    """Per client, the indices it receives: each class cut in Dirichlet(alpha) proportions."""
    parts: list[list[npt.NDArray[np.int64]]] = [[] for _ in range(n_clients)]
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        share = rng.dirichlet([alpha] * n_clients)
        cuts = (np.cumsum(share)[:-1] * len(idx)).astype(int)
        for client, piece in enumerate(np.split(idx, cuts)):
            parts[client].append(piece)
    return [np.sort(np.concatenate(p)) for p in parts]

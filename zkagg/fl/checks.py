"""Eager checks of what FL code hands to a job: the template, each client's update and weight.

Every check runs before anything touches the ledger, so a refused input leaves the job as it was.
Errors name the client, the tensor and the index inside it, not a position in the flat vector.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import BudgetError, InputError, LengthError
from ..secagg.config import SecAggConfig
from ..secagg.encoding import Layout, Update, check_weight

__all__ = ["check_client_id", "check_template", "check_tensors", "check_update", "check_updates"]


def _entry_name(layout: Layout, i: int) -> str:
    name = layout.entries[i].name
    return f"[{name!r}]" if layout.is_mapping else ""


def _locate(layout: Layout, flat_index: int) -> str:
    """'update['fc.weight'] at (3, 4)' for an index into the flat vector."""
    at = 0
    for i, e in enumerate(layout.entries):
        n = math.prod(e.shape)
        if flat_index < at + n:
            where = np.unravel_index(flat_index - at, e.shape) if e.shape else ()
            return f"{_entry_name(layout, i)} at {tuple(int(k) for k in where)}"
        at += n
    raise AssertionError("index outside the layout")


#: torch dtypes numpy cannot hold (their names): refused by name instead of failing in conversion
_NO_NUMPY_DTYPES = ("bfloat16", "float8", "complex", "qint", "quint", "bits")


def check_tensors(update: Update, who: str) -> None:
    """InputError naming the tensor for torch tensors that hold no data here (the meta device) or
    whose dtype numpy cannot represent (bfloat16, float8, quantized): convert them with `.float()`
    (bfloat16 and float8 values are exact in float32) or materialize them first."""
    items = list(update.items()) if isinstance(update, Mapping) else [("", update)]
    for name, value in items:
        if not hasattr(value, "detach"):
            continue
        where = f"{who}[{str(name)!r}]" if isinstance(update, Mapping) else who
        device = getattr(getattr(value, "device", None), "type", None)
        if device == "meta" or getattr(value, "is_meta", False):
            raise InputError(f"{where}: a tensor on the meta device holds no values "
                             "(materialize the model, e.g. with to_empty() and loading its weights)")
        dtype = str(getattr(value, "dtype", "")).removeprefix("torch.")
        if dtype.startswith(_NO_NUMPY_DTYPES):
            hint = "convert with .float() (its values are exact in float32)" \
                if dtype.startswith(("bfloat16", "float8")) else "only real numeric tensors are averaged"
            raise InputError(f"{where}: dtype {dtype} is not supported: {hint}")


def check_template(template: Update) -> Layout:
    """The layout of a model template (numpy array, torch tensor, or a mapping of them)."""
    if isinstance(template, Mapping) and not template:
        raise LengthError("template: an empty mapping has no parameters")
    check_tensors(template, "template")
    layout = Layout.of(template)
    if layout.size == 0:
        raise LengthError("template: it has no parameters")
    return layout


def check_update(layout: Layout, config: SecAggConfig, update: Update, *, who: str = "update",
                 clip: bool = False) -> npt.NDArray[np.float64]:
    """The update as a flat float64 vector, checked against the template's layout.

    Raises InputError (wrong structure, NaN or ±inf), LengthError (wrong shape) and, unless `clip`,
    BudgetError for a value outside the quantization's clip range (it would be silently clipped).
    """
    check_tensors(update, who)
    try:
        flat = layout.flatten(update)
    except InputError as err:  # LengthError included: keep the subclass, name the client
        raise type(err)(f"{who}: {err}") from None
    finite = np.isfinite(flat)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise InputError(f"{who}{_locate(layout, bad)}: value {flat[bad]} is not finite")
    bound = config.quantization.clip
    if not clip:
        outside = np.abs(flat) > bound
        if outside.any():
            bad = int(np.flatnonzero(outside)[0])
            raise BudgetError(
                f"{who}{_locate(layout, bad)}: value {flat[bad]} is outside the clip range "
                f"[-{bound}, {bound}] (raise Quantization.clip, or create the job with clip_updates=True)"
            )
    return flat


def check_updates(layout: Layout, config: SecAggConfig, updates: Mapping[int, tuple[Update, int]], *,
                  clip: bool = False) -> dict[int, tuple[npt.NDArray[np.float64], int]]:
    """Every client's (flat update, weight), checked; the first bad one raises."""
    if not isinstance(updates, Mapping):
        raise InputError(f"updates must map client ids to (update, weight), not {type(updates).__name__}")
    out: dict[int, tuple[npt.NDArray[np.float64], int]] = {}
    for client, pair in updates.items():
        cid = check_client_id(client, config)
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise InputError(f"updates[{client}] must be a pair (update, weight)")
        update, weight = pair
        try:
            w = check_weight(weight, config)
        except InputError as err:
            raise type(err)(f"client {client}: {err}") from None
        out[cid] = (check_update(layout, config, update, who=f"client {client} update", clip=clip), w)
    return out


def check_client_id(client: Any, config: SecAggConfig) -> int:
    if isinstance(client, bool) or not isinstance(client, int | np.integer) \
            or not 0 <= int(client) < config.n_clients:
        raise InputError(f"client id must be an int in [0, {config.n_clients}), not {client!r}")
    return int(client)

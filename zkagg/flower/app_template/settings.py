"""The app's run config: its defaults (what `pyproject.toml` lists for `flwr run`) and checks.

`run_simulation` gives the apps no run config: there the JSON object in the environment variable
ZKAGG_APP_CONFIG (set before the simulation starts; its workers inherit it) stands in for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from zkagg.errors import InputError

DEFAULTS: dict[str, Any] = {
    "num-server-rounds": 3,
    "n-clients": 5,  # the job's slots: at least the number of nodes
    "hidden": 411,  # the CNN's hidden width: 411 gives 61,939 parameters
    "local-epochs": 1,
    "learning-rate": 0.05,
    "ledger": "memory",  # "memory", "embedded" (the embedded EVM) or a node's URL (http://...)
    "ledger-port": 18547,  # 127.0.0.1:ledger-port serves the ledger to the ClientApps
    "ledger-key": "",  # hex, at least 16 bytes; `zkagg new flower-app` writes a random one
    "ptau": "",  # a contributed .ptau file; empty: a single-party setup (examples only)
    "clip-updates": False,
    "out-dir": "zkagg-out",
}


ENV = "ZKAGG_APP_CONFIG"


def settings(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults updated by the run config; unknown keys and wrong types refused by name."""
    out = dict(DEFAULTS)
    try:
        given = {**json.loads(os.environ.get(ENV, "{}")), **run_config}
    except json.JSONDecodeError:
        raise InputError(f"{ENV} must hold a JSON object") from None
    for key, value in given.items():
        if key not in DEFAULTS:
            continue  # Flower adds its own keys to the run config
        if type(value) is not type(DEFAULTS[key]) and not (isinstance(DEFAULTS[key], float)
                                                           and isinstance(value, int)):
            raise InputError(f"run config {key!r}: expected {type(DEFAULTS[key]).__name__}, got {value!r}")
        out[key] = value
    try:
        key = bytes.fromhex(out["ledger-key"])
    except ValueError:
        raise InputError("run config 'ledger-key' must be hex") from None
    if len(key) < 16:
        raise InputError("run config 'ledger-key' must be at least 16 bytes of hex "
                         "(zkagg new flower-app writes one)")
    return out

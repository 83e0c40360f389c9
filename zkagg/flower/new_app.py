"""`zkagg new flower-app DIR`: a Flower app folder for `flwr run`, copied from `app_template`.

The folder holds the template's modules as a package of its own (edit `task.py` for another
model) and a pyproject.toml whose run config lists every setting with a fresh random ledger key.
Its dependencies are left empty on purpose: zkagg and its native core are installed from source,
which a per-run install cannot do, so the app uses the environment `flwr run` runs in.
"""

from __future__ import annotations

import re
import secrets
from importlib import resources
from pathlib import Path

from ..errors import InputError
from .app_template.settings import DEFAULTS

MODULES = ("__init__.py", "settings.py", "task.py", "client_app.py", "server_app.py")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def pyproject(package: str, supernodes: int, ledger_key: str) -> str:
    """The app's pyproject.toml (the number of nodes is a federation setting of `flwr run`,
    `--federation-config "num-supernodes=N"`; the run config's n-clients must cover them)."""
    config = {**DEFAULTS, "ledger-key": ledger_key, "n-clients": supernodes}
    lines = "\n".join(f"{k} = {_toml(v)}" for k, v in config.items())
    return f'''[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{package.replace("_", "-")}"
version = "1.0.0"
description = "Federated learning with proved secure aggregation (zkagg) on Flower"
# empty on purpose: zkagg, flwr[simulation], torch and scikit-learn come from the environment
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["{package}"]

[tool.flwr.app]
publisher = "zkagg"

[tool.flwr.app.components]
serverapp = "{package}.server_app:app"
clientapp = "{package}.client_app:app"

[tool.flwr.app.config]
{lines}
'''


def write_app(dest: Path, *, package: str = "zkagg_flower_app", supernodes: int = 5) -> Path:
    """Write the app into `dest` (a new or empty folder); returns its pyproject.toml."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", package):
        raise InputError(f"package {package!r} must be a lower-case Python identifier")
    if isinstance(supernodes, bool) or not isinstance(supernodes, int) or not 2 <= supernodes <= 1000:
        raise InputError(f"supernodes must be an int in [2, 1000], not {supernodes!r}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{str(dest)!r} exists and is not an empty folder")
    (dest / package).mkdir(parents=True)
    source = resources.files("zkagg.flower.app_template")
    for name in MODULES:
        (dest / package / name).write_text(source.joinpath(name).read_text())
    project = dest / "pyproject.toml"
    project.write_text(pyproject(package, supernodes, secrets.token_hex(32)))
    return project

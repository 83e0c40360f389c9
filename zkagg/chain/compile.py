"""Compile the contracts with solcjs (the npm `solc` package, pinned) — a developer step.

`python -m zkagg.chain.compile` rewrites zkagg/chain/artifacts/*.json from contracts/. The
artifacts ship in the package, so using zkagg needs no Node.js; a test recompiles and fails when
they are stale. Each artifact records the sha256 of the sources it was built from.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

from ..bench import npm
from ..errors import ZkaggError
from .verifier import render_verifier

SOLC_VERSION = npm.PINNED["solc"]
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}
CONTRACTS = ("JobLedger", "Groth16Verifier")
ARTIFACTS = Path(__file__).parent / "artifacts"

_SCRIPT = """
const solc = require(process.argv[1]);
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => { process.stdout.write(solc.compile(input)); });
"""


class CompileError(ZkaggError):
    """solc reported errors (the message carries them)."""


def sources() -> dict[str, str]:
    """The source units, by name: the ledger and the verifier rendered for code-appended keys."""
    ledger = resources.files("zkagg.contracts").joinpath("JobLedger.sol").read_text()
    return {"JobLedger.sol": ledger, "Groth16Verifier.sol": render_verifier()}


def source_hash(units: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(units):
        h.update(name.encode() + b"\0" + units[name].encode() + b"\0")
    return h.hexdigest()


def solc(units: dict[str, str], settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run solcjs's standard-JSON compiler on the source units; raises CompileError on errors."""
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in units.items()},
        "settings": settings or SETTINGS,
    }
    module = npm.package("solc") / "node_modules" / "solc"
    proc = subprocess.run(["node", "-e", _SCRIPT, str(module)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise CompileError(f"solcjs failed: {proc.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return out


def build() -> dict[str, dict[str, Any]]:
    """The artifacts for the current sources: {contract: {abi, bytecode, deployedBytecode, ...}}."""
    units = sources()
    out = solc(units)
    digest = source_hash(units)
    artifacts = {}
    for name in CONTRACTS:
        c = out["contracts"][f"{name}.sol"][name]
        artifacts[name] = {
            "contractName": name,
            "abi": c["abi"],
            "bytecode": "0x" + c["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
            "compiler": {"solc": SOLC_VERSION, "settings": SETTINGS},
            "sourceHash": digest,
        }
    return artifacts


def write(artifacts: dict[str, dict[str, Any]], directory: Path = ARTIFACTS) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, art in artifacts.items():
        (directory / f"{name}.json").write_text(json.dumps(art, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    write(build())
    print(f"wrote {', '.join(CONTRACTS)} to {ARTIFACTS}")

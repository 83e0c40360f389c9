"""Flower integration: a client mod and a server fit workflow that run zkagg rounds under any
unmodified Flower Strategy, as Flower's own SecAgg+ mod and workflow do.

    client_app = ClientApp(client_fn=client_fn, mods=[zkagg_mod(ledger)])
    fit = ZkaggWorkflow(n_clients=4, ledger=ledger)
    DefaultWorkflow(fit_workflow=fit)(grid, LegacyContext(context, config=..., strategy=FedAvg()))

Message-API strategies: `FedAvg(...).start(grid=ZkaggGrid(grid, workflow), ...)` (message_api).
Both sides use the same ledger: in a simulation, one `MemoryLedger` served to the client workers
by `LedgerServer`; in a deployment, the contract-backed ledger.
"""

from .ledger import LedgerServer, RemoteLedger
from .message_api import ZkaggGrid
from .mod import ZkaggMod, zkagg_mod
from .workflow import RoundRecord, ZkaggWorkflow

__all__ = ["LedgerServer", "RemoteLedger", "RoundRecord", "ZkaggGrid", "ZkaggMod", "ZkaggWorkflow", "zkagg_mod"]

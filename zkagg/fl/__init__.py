"""Federated learning over verifiable secure aggregation: the API FL code calls.

    job = Job(model.state_dict(), n_clients=8, ledger=MemoryLedger())   # validates, one setup
    published = job.run_round({client: (state_dict, n_samples), ...})  # proved and accepted
    model.load_state_dict(published.model)

`Job` (job.py) is the job owner's API; `JobParams` (params.py) is what a client elsewhere needs;
`checks` validates inputs eagerly; `demo` is `zkagg demo` (federated digits classification, which
needs the demo extra: torch, scikit-learn, matplotlib).
"""

from ..secagg import DropPoint, Quantization
from .job import AuditReport, Job, LedgerFactory, PublishedRound
from .params import JobParams

__all__ = ["AuditReport", "DropPoint", "Job", "JobParams", "LedgerFactory", "PublishedRound",
           "Quantization"]

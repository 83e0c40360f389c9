"""A Flower app over zkagg that works under `flwr run` and `run_simulation` as written.

`zkagg new flower-app DIR` copies it (with a pyproject.toml for `flwr run`); the package itself is
tested in CI. A 62k-parameter CNN on scikit-learn's digits (shipped with the package, no
download), one shard per node; Flower's Message-API FedAvg over `ZkaggGrid`, a `@app.train`
client under `zkagg_mod`. The server app starts the ledger itself (the run config's `ledger`: the
in-memory ledger, the embedded EVM, or a node's URL) and serves it on the run config's
`ledger-port`, with the run config's `ledger-key`; clients reach it from the same run config. At
the end the server app writes every proved round, its proof and the audit verdict to `out-dir`.
"""

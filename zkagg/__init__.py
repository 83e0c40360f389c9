"""zkagg: zero-knowledge verifiable secure aggregation for federated learning, accepted on-chain."""

__version__ = "0.1.0"

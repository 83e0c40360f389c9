"""Durable aggregation: a crash-safe journal of a round and an aggregator that resumes from it."""

from .aggregator import DurableAggregator, JournaledLedger, round_identity
from .journal import Journal, JournalLostError, Kind

__all__ = ["DurableAggregator", "Journal", "JournaledLedger", "JournalLostError", "Kind", "round_identity"]

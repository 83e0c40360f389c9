"""Secure aggregation: quantize and pack updates, mask them pairwise, recover dropped clients.

DESIGN.md "One round", steps 1–5. A client's update is encoded to P_u (encoding), hidden as
y_u = P_u + T_u with pairwise masks from its SecAgg+ neighbours (graph, keys, prg), and its mask
key is Shamir-shared among them (shamir) so the aggregator can rebuild T_u if it drops. Client and
aggregator are explicit state machines (client, aggregator) over typed messages (messages);
simulate runs a whole round in one process.
"""

from .aggregator import Aggregator, AggregatorStage, RoundResult
from .client import Client, ClientStage
from .config import Quantization, SecAggConfig
from .encoding import Layout, decode, encode
from .simulate import DropPoint, InProcessTransport, simulate_round

__all__ = [
    "Aggregator", "AggregatorStage", "Client", "ClientStage", "DropPoint", "InProcessTransport",
    "Layout", "Quantization", "RoundResult", "SecAggConfig", "decode", "encode", "simulate_round",
]

"""The train step's input and output in both of Flower's client styles.

The workflow sends the strategy's model and config inside zkagg's own records (`ARRAYS`,
`CONFIG`), never under the names a train function reads: a ClientApp without `zkagg_mod` finds no
instructions and fails before it trains, so it cannot answer with its update in the clear. The
mod hands its train function both styles at once: the legacy `fitins.*` records (a `client_fn`
ClientApp) and `arrays` / `config` (a Message-API `@app.train` function), and reads whichever
reply the function gives: `fitres.*`, or `arrays` with the `num-examples` metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.common import Code, FitIns, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.compat.common import recorddict_compat as compat

from ..errors import MessageFormatError, ProtocolError

#: the strategy's model and train config inside a zkagg round's first message
ARRAYS, CONFIG = "zkagg.arrays", "zkagg.config"
#: the train metrics a node passes on to the strategy, in its first reply of a round
METRICS = "zkagg.metrics"
#: the Message API's names (Flower's strategies' defaults) and its weight metric
API_ARRAYS, API_CONFIG, API_METRICS, NUM_EXAMPLES = "arrays", "config", "metrics", "num-examples"


@dataclass(frozen=True)
class TrainResult:
    """What the user's train function returned: its parameters, weight and metrics."""

    arrays: list[np.ndarray]
    num_examples: Any  # checked against the job's max_weight by the caller
    metrics: dict[str, Any]


#: a global model: an ArrayRecord (its names kept) or a list of arrays (positional)
Model = ArrayRecord | list[np.ndarray]


def as_arrays(model: Model) -> list[np.ndarray]:
    """The model's arrays in order (the order zkagg encodes them in)."""
    return model.to_numpy_ndarrays() if isinstance(model, ArrayRecord) else list(model)


def hidden_instructions(model: Model, config: Mapping[str, Any]) -> dict[str, Any]:
    """The records that carry the global model (an ArrayRecord keeps its names, e.g. a state_dict's)
    and train config to the mod (see the module doc)."""
    record = model if isinstance(model, ArrayRecord) else ArrayRecord(model)
    return {ARRAYS: record, CONFIG: ConfigRecord(dict(config))}


def instructions(content: RecordDict) -> tuple[ArrayRecord, dict[str, Any]]:
    """The global model and config of a round's first message."""
    arrays, config = content.array_records.get(ARRAYS), content.config_records.get(CONFIG)
    if arrays is None or config is None:
        raise MessageFormatError("the round's first zkagg message lacks the model or the train config")
    return arrays, dict(config)


def train_message(msg: Message, model: ArrayRecord, config: Mapping[str, Any]) -> Message:
    """`msg` with the content the user's train function sees: the model and config in both styles."""
    content = compat.fitins_to_recorddict(FitIns(ndarrays_to_parameters(as_arrays(model)), dict(config)),
                                          keep_input=True)
    content[API_ARRAYS] = model
    content[API_CONFIG] = ConfigRecord(dict(config))
    msg.content = content
    return msg


def train_result(reply: Message) -> TrainResult:
    """The train function's reply in either style (ProtocolError if it failed or is neither)."""
    if reply.has_error():
        raise ProtocolError(f"the train function failed: {reply.error.reason}")
    content = reply.content
    if "fitres.parameters" in content.array_records:
        fitres = compat.recorddict_to_fitres(content, keep_input=True)
        if fitres.status.code != Code.OK:
            raise ProtocolError(f"the train function failed: {fitres.status.message}")
        return TrainResult(parameters_to_ndarrays(fitres.parameters), fitres.num_examples,
                           dict(fitres.metrics))
    arrays = content.array_records.get(API_ARRAYS)
    metrics = content.metric_records.get(API_METRICS)
    if arrays is None or metrics is None or NUM_EXAMPLES not in metrics:
        raise ProtocolError("the train function's reply has neither a FitRes nor 'arrays' with a "
                            f"'{API_METRICS}' record holding '{NUM_EXAMPLES}'")
    values = dict(metrics)
    return TrainResult(arrays.to_numpy_ndarrays(), values.pop(NUM_EXAMPLES), values)


def metrics_record(metrics: Mapping[str, Any]) -> MetricRecord:
    """The train metrics a client passes on (ints and floats, and lists of them, only)."""
    return MetricRecord({k: v for k, v in metrics.items()
                         if isinstance(v, int | float | list) and not isinstance(v, bool)})

"""The client-side checks of a Flower node's update, the same as `zkagg.fl.Job` makes.

A value outside the clip range is refused by name (BudgetError naming the tensor and index), or,
when the workflow was made with `clip_updates=True`, clipped with a warning naming each tensor; a
`num_examples` outside [1, max_weight] is refused by name. A refusal fails the node's train
message, so the server sees the reason and the node is out of that round only.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from ..fl.checks import check_update
from ..secagg.config import SecAggConfig
from ..secagg.encoding import Layout, check_weight

#: zkagg's records under Flower's logger, so they show wherever Flower's own lines do
log = logging.getLogger("flwr").getChild("zkagg")


def check_weight_of_node(num_examples: Any, config: SecAggConfig) -> int:
    """The update's weight, or an error that names `num_examples` and the job's `max_weight`."""
    try:
        return check_weight(num_examples, config)
    except InputError as err:
        raise type(err)(f"num_examples: {err} (the job's max_weight is {config.max_weight}: make the "
                        "workflow with a larger max_weight, or cap num_examples in the train function)"
                        ) from None


def check_node_update(layout: Layout, config: SecAggConfig, update: dict[str, npt.NDArray[Any]], *,
                      clip: bool) -> npt.NDArray[np.float64]:
    """The update as a flat vector; out-of-range values refused by name, or clipped with a warning."""
    bound = config.quantization.clip
    if clip:
        for name, array in update.items():
            values = np.asarray(array, dtype=np.float64)
            outside = int(np.count_nonzero(np.abs(values[np.isfinite(values)]) > bound))
            if outside:
                log.warning("zkagg: update[%r]: %d value(s) outside [-%s, %s] clipped (clip_updates=True)",
                            name, outside, bound, bound)
    return check_update(layout, config, update, who="update", clip=clip)

"""One error hierarchy for the whole library.

Malformed input raises a subclass of InputError naming the parameter and its bound; a well-formed
but false statement (e.g. a proof that does not verify) is reported as False, not raised.
"""

from __future__ import annotations


class ZkaggError(Exception):
    """Base class of every error zkagg raises on purpose."""


class InputError(ZkaggError, ValueError):
    """Malformed input: the message names the parameter and what was expected."""


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """`value` if it is an int (not a bool) in [low, high] (high None: no upper bound), else
    InputError naming the parameter and its bound."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an int, not {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise InputError(f"{name} must be {bound}, not {value}")
    return value


class LengthError(InputError):
    """An array or byte string has the wrong length or shape."""


class NonCanonicalError(InputError):
    """A field element is not a canonical integer in [0, modulus)."""


class NotOnCurveError(InputError):
    """A point is not on the curve."""


class NotInSubgroupError(InputError):
    """A point is on the curve but outside the prime-order subgroup."""


class NotInvertibleError(InputError, ZeroDivisionError):
    """Zero has no inverse."""


class NativeError(ZkaggError):
    """The native core is missing, failed to build, or reported a failure (e.g. out of memory)."""


class CircuitError(ZkaggError):
    """A circuit is malformed (wrong input shapes, inputs allocated out of order, ...)."""


class UnsatisfiedConstraintError(ZkaggError):
    """A witness violates a constraint; `label` is the scope path of the first one that fails."""

    def __init__(self, label: str, detail: str = "") -> None:
        self.label = label
        super().__init__(f"constraint {label or '<root>'} is not satisfied{': ' + detail if detail else ''}")


class SetupError(ZkaggError):
    """A setup or a setup transcript is degenerate or does not verify; the message says which check."""


class ProofError(ZkaggError):
    """A proof could not be produced (e.g. the proving key does not match its verifying key)."""


class BudgetError(InputError):
    """A value or a configuration would exceed the quantization/packing overflow budget: a value
    too wide for its slot, a packed element with bits outside its slots, or parameters whose sums
    could wrap. Nothing wraps silently."""


class MessageFormatError(InputError):
    """Bytes that are not a valid zkagg message: bad magic, version, tag, length or trailing data."""


class ProtocolError(ZkaggError):
    """A message arrived in the wrong stage, for another job or round, twice, or from a party that may
    not send it. The receiver's state is unchanged."""


class ShareError(ProtocolError):
    """A secret share failed authentication or consistency; `sender` names the party responsible."""

    def __init__(self, sender: int, detail: str) -> None:
        self.sender = sender
        super().__init__(f"share from client {sender}: {detail}")


class KeyAuthenticationError(ProtocolError):
    """A round key is not signed by the identity the ledger enrolled for its slot (a forged or
    substituted key, or a slot nobody enrolled); `slot` names it. Nothing is encrypted to it."""

    def __init__(self, slot: int, detail: str) -> None:
        self.slot = slot
        super().__init__(f"round keys of client {slot}: {detail}")


class DropoutError(ProtocolError):
    """Too many clients dropped for the round to complete; no partial result is released."""


class PrivacyError(ProtocolError):
    """Continuing would reveal something beyond the survivors' sum (e.g. one client's update)."""


class LedgerError(ZkaggError):
    """The ledger refused a write: a replay, a write after the deadline, or an unknown party."""


class ProofRejectedError(LedgerError):
    """The ledger refused a round: its proofs do not verify against the slots it recorded."""


class StoreError(ZkaggError):
    """Stored data could not be read or written: a journal that is not a zkagg journal, of another
    job or round, with a record malformed or out of order; a stored blob that is malformed or does
    not match the key it is stored under; or a storage failure. Nothing is changed."""


class TransportError(ZkaggError):
    """A remote party (a chain node, a compute cluster) failed or did not answer within its time
    budget. The operation may or may not have taken effect; it can be retried once the remote is
    back (the durable aggregator is restarted from its journal)."""

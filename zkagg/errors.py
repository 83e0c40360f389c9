"""One error hierarchy for the whole library.

Malformed input raises a subclass of InputError naming the parameter and its bound; a well-formed
but false statement (e.g. a proof that does not verify) is reported as False, not raised.
"""

from __future__ import annotations


class ZkaggError(Exception):
    """Base class of every error zkagg raises on purpose."""


class InputError(ZkaggError, ValueError):
    """Malformed input: the message names the parameter and what was expected."""


class LengthError(InputError):
    """An array or byte string has the wrong length or shape."""


class NonCanonicalError(InputError):
    """A field element is not a canonical integer in [0, modulus)."""


class NotOnCurveError(InputError):
    """A point is not on the curve."""


class NotInSubgroupError(InputError):
    """A point is on the curve but outside the prime-order subgroup."""


class SlotOverflowError(InputError):
    """A value does not fit its packing slot (>= 2^width), or a packed element has bits outside
    its slots: no packing makes such an element, a sum of packings whose slots carried past the
    top one does."""


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

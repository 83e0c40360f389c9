"""Circuit definitions and gadgets (installed as `zkagg.circuits`).

Gadgets take an `api` (zkagg.circuit.API) and never import an engine, so the same code is
evaluated, compiled to R1CS, or costed.
"""

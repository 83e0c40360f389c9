"""The Solidity sources, installed as zkagg.contracts so the verifier template ships with the package
(`zkagg export solidity` renders it without Node.js; compiling is a developer step)."""

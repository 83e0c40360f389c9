"""The Groth16 verifier contract for a verifying key, from the one template
(contracts/Groth16Verifier.sol.tmpl), and the calldata that matches it.

The verifier reads its key from the end of its own code, so the compiled contract (shipped in
the package) serves every key: deploying appends the key words and their count to its runtime
code (`deploy_code`, no compiler needed). The standalone export for auditors
(`render_verifier(vk)`) is the same contract plus a deployer whose constructor leaves that
contract's code with the key attached.

Key words: [alpha.x, alpha.y, beta (4), gamma (4), delta (4), IC[0].x, IC[0].y, ...], G2
coordinates in the EIP-197 order (x.c1, x.c0, y.c1, y.c0) — the same order as the canonical
bytes of zkagg's points, so the words are those bytes cut in 32.
"""

from __future__ import annotations

import re
from importlib import resources

from ..errors import InputError, LengthError
from ..groth16 import Proof, VerifyingKey

TEMPLATE = "Groth16Verifier.sol.tmpl"

# Deployment code that returns the rest of itself as the contract's code: PUSH2 size, DUP1,
# PUSH1 12 (this prefix's length), PUSH1 0, CODECOPY, PUSH1 0, RETURN.
_PREFIX_LEN = 12


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]


def key_words(vk: VerifyingKey) -> list[int]:
    """The verifying key as the contract's key words."""
    if not isinstance(vk, VerifyingKey):
        raise InputError("key_words takes a VerifyingKey")
    head = vk.alpha_g1.to_bytes() + vk.beta_g2.to_bytes() + vk.gamma_g2.to_bytes() + vk.delta_g2.to_bytes()
    return _words(head + b"".join(p.to_bytes() for p in vk.ic))


def key_from_words(words: list[int]) -> VerifyingKey:
    """The verifying key a contract reports (`verifyingKey()`), validated."""
    if len(words) < 18 or len(words) % 2:
        raise LengthError(f"a verifying key has an even number >= 18 of words, not {len(words)}")
    data = b"".join(w.to_bytes(32, "big") for w in words)
    n_ic = (len(words) - 14) // 2
    return VerifyingKey.from_bytes(b"zkaggVK1" + n_ic.to_bytes(4, "big") + data)


def proof_calldata(proof: Proof) -> list[int]:
    """The eight words a verifier takes for a proof: A.x, A.y, B (EIP-197 order), C.x, C.y."""
    if not isinstance(proof, Proof):
        raise InputError("proof_calldata takes a Proof")
    return _words(proof.to_bytes())


def proof_from_calldata(words: list[int]) -> Proof:
    """The inverse of proof_calldata (validated: coordinates < q, points on their curves)."""
    if len(words) != 8:
        raise LengthError(f"a proof is 8 words, not {len(words)}")
    return Proof.from_bytes(b"".join(w.to_bytes(32, "big") for w in words))


def template() -> str:
    return resources.files("zkagg.contracts").joinpath(TEMPLATE).read_text()


#: EIP-170: the largest contract code a chain accepts
MAX_CODE_BYTES = 24_576

#: Solidity's keywords, reserved words, elementary type names and units: none may name a contract
_RESERVED = frozenset("""
abstract after alias anonymous apply as assembly auto bool break byte bytes calldata case catch
constant constructor continue contract copyof days default define delete do else emit enum error
ether event external fallback false final finney fixed for from function global gwei hex hours if
immutable implements import in indexed inline interface internal is let library macro mapping match
memory minutes modifier mutable new null of override partial payable pragma private promise public
pure receive reference relocatable return returns revert sealed seconds sizeof static storage string
struct super supports switch szabo this throw transient true try type typedef typeof ufixed uint int
unchecked unicode using var view virtual weeks wei while years address abi block msg tx now
selfdestruct require assert keccak256 sha256 ripemd160 ecrecover addmod mulmod gasleft blockhash
""".split())


def check_name(name: str) -> str:
    """`name` if it can name the exported contract: an identifier that is no Solidity keyword,
    reserved word, type or global (the compiler would refuse it, or shadow a builtin)."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}", name):
        raise InputError(f"contract name must be a Solidity identifier of at most 64 characters, not {str(name)[:70]!r}")
    if name in _RESERVED or re.fullmatch(r"(u?int|bytes|u?fixed)[0-9x]+", name):
        raise InputError(f"contract name {name!r} is a Solidity keyword or type name")
    return name


def code_size(vk: VerifyingKey) -> int:
    """Bytes of the deployed verifier's code with `vk` attached (runtime, key words, count)."""
    from .client import artifact

    runtime = (len(artifact("Groth16Verifier")["deployedBytecode"]) - 2) // 2
    return runtime + 32 * (len(key_words(vk)) + 1)


def check_code_size(vk: VerifyingKey) -> None:
    """LengthError when the verifier with `vk` would exceed the chain's contract size limit."""
    size = code_size(vk)
    if size > MAX_CODE_BYTES:
        raise LengthError(f"a verifier for {vk.n_public} public inputs is {size:,} bytes of code, above "
                          f"the {MAX_CODE_BYTES:,}-byte contract limit (EIP-170): no chain would deploy it")


def render_verifier(vk: VerifyingKey | None = None, name: str = "Groth16Verifier") -> str:
    """The verifier source. Without a key: the contract alone (what ships, compiled). With a key:
    standalone — the contract, the key as a constant, and `<name>Deployer`, whose deployment
    leaves the contract's code with the key attached (use `<name>`'s ABI at that address). A
    key whose verifier would exceed the contract size limit raises LengthError."""
    check_name(name)
    if vk is not None:
        check_code_size(vk)
    text = template()
    contract, standalone = text.split("//@@ standalone\n")
    if vk is None:
        return contract.replace("{{NAME}}", name)
    words = key_words(vk)
    standalone = (standalone.replace("{{KEY_HEX}}", "".join(f"{w:064x}" for w in words))
                  .replace("{{N_PUBLIC}}", str(vk.n_public)).replace("{{DEPLOYER}}", f"{name}Deployer"))
    return (contract + standalone).replace("{{NAME}}", name)


def deploy_code(runtime: bytes, vk: VerifyingKey) -> bytes:
    """Deployment code for the shipped verifier with `vk`: the code becomes runtime ‖ key words ‖
    word count."""
    words = key_words(vk)
    code = runtime + b"".join(w.to_bytes(32, "big") for w in [*words, len(words)])
    if len(code) > MAX_CODE_BYTES:
        raise LengthError(f"a verifier for {vk.n_public} public inputs is {len(code):,} bytes of code, above "
                          f"the {MAX_CODE_BYTES:,}-byte contract limit (EIP-170)")
    size = len(code).to_bytes(2, "big")
    prefix = b"\x61" + size + b"\x80\x60" + bytes([_PREFIX_LEN]) + b"\x60\x00\x39\x60\x00\xf3"
    assert len(prefix) == _PREFIX_LEN
    return prefix + code

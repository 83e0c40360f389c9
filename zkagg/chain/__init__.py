"""The chain side of zkagg: the Groth16 verifier and job-ledger contracts, a web3.py client, the
contract-backed Ledger, content-addressed storage and the auditor."""

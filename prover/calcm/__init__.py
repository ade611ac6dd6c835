"""calcm: cross-asset portfolio margin, proven in zero knowledge.

Pipeline (one direction): market data -> risk model -> instrument P&L per
scenario -> account margins (float and exact fixed point) -> witness ->
circuits -> Groth16 proof -> on-chain verifier and registry.
"""
__version__ = "0.1.0"

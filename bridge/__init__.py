"""The host bridge: a courier between Nostr relays and the signer device (see docs/DESIGN.md).

Run it as `python -m bridge <command>` or, installed (`pip install .`), as
`nostr-signer-bridge <command>`; see bridge/__main__.py for the commands.
"""
__version__ = "0.1.0"     # the one place the version is written (pyproject.toml reads it)

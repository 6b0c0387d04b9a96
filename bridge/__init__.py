"""The host bridge: a courier between Nostr relays and the signer device (see shared/DESIGN.md).

Run it as `python -m bridge <command>`; see bridge/__main__.py for the commands.
"""

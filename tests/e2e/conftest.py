"""End-to-end tests: node's nostr-tools is installed on first use (npm ci, pinned by package-lock.json)."""
import pytest

import node


@pytest.fixture(scope="session")
def node_client():
    """The node module, after making sure node >= 20 and the pinned packages are there."""
    node.node_bin()
    node.ensure_node_modules()
    return node

# heap: 128K
# keystore/store.write_json on a heap a request has split: ten clients' records are
# ~2.4 KB of JSON, and approving a pairing failed with MemoryError when no block of that
# size was left (e2e, test_client_libraries' nostrconnect pairings at 128 KB), leaving
# the client without an answer. Written in pieces, they need no such block.
import gc
import json
from keystore import store

ROOT = "/tmp/fw_store_heap"


def holes_of_at_most_1_5_kb():
    # the heap filled with 1.4 KB tuples (one block each, unlike a bytearray's header
    # and data), what is left filled with smaller ones, then every 1.4 KB one but a few
    # freed: no free block is larger than 1.5 KB
    big = [None] * 120
    small = [None] * 1500
    i = 0
    try:
        while i < 120:
            big[i] = (None,) * 180
            i += 1
    except MemoryError:
        pass
    assert i < 120, "the heap did not fill"
    k = 0
    for n in (90, 40, 16, 4, 1):
        try:
            while k < 1500:
                small[k] = (None,) * n
                k += 1
        except MemoryError:
            pass
    for j in range(0, i, 2):
        big[j] = None
    gc.collect()
    return big, small


def clients(n):
    return {"%064x" % (i + 1): {"name": "Client %d" % i, "rules": ["sign_event:1", "nip44_encrypt"],
                                "relays": ["wss://relay.example.com"], "last_used": 1700000000 + i,
                                "url": "https://client.example.com", "image": ""} for i in range(n)}


def test_ten_clients_are_saved_where_no_block_holds_their_json():
    value = clients(10)
    assert len(json.dumps(value)) > 2000
    keep = holes_of_at_most_1_5_kb()
    try:
        json.dumps(value)
        raise AssertionError("the heap still has a block for the whole text")
    except MemoryError:
        pass
    keep = None
    gc.collect()
    keep = holes_of_at_most_1_5_kb()
    store.write_json(ROOT, "clients.json", value)
    keep = None
    gc.collect()
    assert store.read_json(ROOT, "clients.json") == value


def test_write_json_writes_what_json_dumps_writes():
    for v in ({}, {"a": 1}, {"x": [1, "two", None], "y": {"z": True}}, [1, 2], "s", 3):
        store.write_json(ROOT, "v.json", v)
        assert json.loads(store.read(ROOT, "v.json")) == v

# heap: 256K (an RP2040's room once up with ROMFS, ~175 KB free, is what size_caches is
# told here: ten hot keys with 8-base tables, ~45 KB of this port's objects, twice a
# board's. Among fw_secp256k1.py's tests at 128K they found no room: a table that cannot
# be made is not cached, and was built again on each use)
# The key caches where the heap allows ten clients (issue 10, item 5).
from crypto import secp256k1 as ec


def test_ten_alternating_clients_build_no_tables_once_warm_where_the_heap_allows():
    from crypto import ecmult as em
    keys = [bytes([i + 7]) * 32 for i in range(10)]
    pubs = [ec.pubkey(k) for k in keys]
    sigs = [ec.schnorr_sign(b"t", k, bytes(32)) for k in keys]
    real = em.tables
    built = []
    ec.clear_cache()
    ec.size_caches(175 * 1024)
    try:
        for _ in range(2):
            for p, s in zip(pubs, sigs):
                assert ec.schnorr_verify(b"t", p, s)
        em.tables = lambda *a: built.append(1) or real(*a)
        for _ in range(3):
            for p, s in zip(pubs, sigs):
                assert ec.schnorr_verify(b"t", p, s)
        assert not built and sorted(ec._hot) == sorted(pubs)
    finally:
        em.tables = real
        ec.size_caches(0)
        ec.clear_cache()

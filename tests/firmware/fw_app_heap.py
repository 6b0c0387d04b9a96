# heap: 320K
# Where what outlives a request lands in the heap (issue 10, 4: real accounts fit at
# 128K). A module's first import interns its path and new names for good (the qstr
# pools are never freed); no collection runs until an allocation fails, so made during
# a request they went to the frontier of its garbage, high in the heap, and cut the big
# free block once that garbage died: at 128K the e2e 100-follow list failed one run in
# five ("too large": largest block 7 KB of 45 KB free).
import gc
import json
import sys
from binascii import hexlify

import app

def test_a_module_imported_again_is_the_same_code():
    m = app._lazy("ui.kinds_more")
    assert app._lazy("ui.kinds_more") is m and sys.modules["ui.kinds_more"] is m
    app._drop("ui.kinds_more")
    assert "ui.kinds_more" not in sys.modules
    assert app._lazy("ui.kinds_more").KINDS
    app._drop("ui.kinds_more")


def test_the_signing_keypair_made_by_a_request_is_copied_down_after_it():
    # made by the first signature, during a request, it sat where that request left the
    # heap (a tuple, two bytes and a 256-bit int in the middle of the big free block)
    from crypto import secp256k1
    sk = bytes(range(1, 33))
    msg, aux = b"\x07" * 32, b"\x01" * 32
    secp256k1.clear_cache()
    sig = secp256k1.schnorr_sign(msg, sk, aux)
    kp = secp256k1._keypair
    assert kp is not None and kp[0] == sk
    secp256k1.settle(lambda o: False)
    assert secp256k1._keypair is kp  # nothing high: left as it is
    secp256k1.settle(lambda o: o is kp[1])
    moved = secp256k1._keypair
    assert moved == kp and moved is not kp
    assert moved[0] is not kp[0] and moved[1] is not kp[1] and moved[2] is not kp[2]
    kp = None
    assert secp256k1.schnorr_sign(msg, sk, aux) == sig and secp256k1._keypair is moved
    assert secp256k1.schnorr_verify(msg, secp256k1.pubkey(sk), sig)


def test_a_client_record_a_request_changed_is_copied_down_after_it():
    from signer import clients as cl
    recs = json.loads('{"%s": {"name": "a", "rules": ["ping"], "last_used": 5}}' % ("ab" * 32))
    assert cl.settle(recs, lambda o: False) is recs
    # on a 32-bit port each request's unix time is a new heap int in the record
    r = recs["ab" * 32]
    big = 1 << 70  # a heap int here too, beyond any unix time
    r["last_used"] = big
    assert cl.settle(recs, lambda o: o is big) is recs
    assert r["last_used"] == 1 << 70 and r["last_used"] is big  # not a unix time: left
    big = (1 << 62) + 5
    r["last_used"] = big
    assert cl.settle(recs, lambda o: o is big) is recs
    assert r["last_used"] == (1 << 62) + 5 and r["last_used"] is not big
    r["last_used"] = None  # a record without one
    assert cl.settle(recs, lambda o: True) is not recs
    # a record (or its key) made in a request: the whole set copied, the same values
    new = cl.settle(recs, lambda o: o is r)
    assert new is not recs and new == recs and new["ab" * 32] is not r


def test_the_replay_rings_times_a_request_left_are_copied_down_after_it():
    # unix times are heap ints on a 32-bit port: modelled here by ints beyond x64's
    # small ones, each a new object where the request left the heap
    from signer import replay
    s = replay.Seen("/tmp/fw_app_heap_rings", 4, 4)
    big = [(1 << 62) + i for i in range(4)]
    s.data[0], s.data[3], s.t1[0], s.floor = big[0], big[1], big[2], big[3]
    s.settle(lambda o: False)
    assert s.data[0] is big[0] and s.floor is big[3]
    s.settle(lambda o: any(o is b for b in big))
    assert [s.data[0], s.data[3], s.t1[0], s.floor] == big
    assert not any(v is b for v in (s.data[0], s.data[3], s.t1[0], s.floor) for b in big)
    assert s.data[1] == 0 and s.t1[1] is False  # the rest as it was


def test_key_caches_whose_keys_changed_are_made_anew_after_the_request():
    # a dict or list that grew in a request got its new table there, in the middle of
    # the heap, even when its entries were copied down (or none was left: a key moved
    # from the new-key cache to the hot one left the first's table behind)
    from crypto import secp256k1 as S
    from signer import envelope
    sk, peer = bytes(range(1, 33)), bytes(range(2, 34))
    pub = S.pubkey(peer)
    S.clear_cache()
    S.settle(lambda o: False)
    caches = (S._hot, S._new, S._ecdh[1], S._new_order, S._ecdh[2])
    S.settle(lambda o: False)
    assert all(a is b for a, b in zip(caches, (S._hot, S._new, S._ecdh[1], S._new_order, S._ecdh[2])))
    msg = b"\x07" * 32
    assert S.schnorr_verify(msg, pub, S.schnorr_sign(msg, peer, msg))  # pub's tables kept
    x = S.ecdh_x(sk, pub)  # its second use: moved to the hot keys, 4-base tables
    new, hot, tables, ex = S._new, S._hot, S._hot[pub], S._ecdh[1]
    assert not new
    S.settle(lambda o: False)
    assert S._new is not new and not S._new  # the table the key left behind
    assert S._hot is not hot and S._hot == hot and S._hot[pub] is tables  # only the dict
    assert S._ecdh[1] is not ex and S._ecdh[1] == ex and S._hot_order == [pub]
    assert S.ecdh_x(sk, pub) == x and S._ecdh[1] is not ex
    ck = envelope.conversation_key(sk, hexlify(pub).decode())
    d = envelope._CK
    envelope.settle(lambda o: False)
    assert envelope._CK is not d and envelope._CK == d
    d = envelope._CK
    envelope.settle(lambda o: False)
    assert envelope._CK is d  # no new entry since
    assert envelope.conversation_key(sk, hexlify(pub).decode()) == ck
    envelope.forget()
    S.clear_cache()


def test_the_list_of_keys_an_ecdh_took_without_tables_is_made_anew_after_the_request():
    # a new peer's ECDH (a gift wrap's ephemeral key) appends it to secp256k1._once: the
    # list's storage grew in the request, in the middle of the heap
    from crypto import secp256k1 as S
    sk = bytes(range(1, 33))
    peers = [S.pubkey(bytes([i + 50]) * 32) for i in range(3)]
    S.clear_cache()
    S.settle(lambda o: False)
    xs = [S.ecdh_x(sk, p) for p in peers]
    once = S._once
    assert once == peers
    S.settle(lambda o: False)
    assert S._once is not once and S._once == peers
    once = S._once
    S.settle(lambda o: False)
    assert S._once is once  # unchanged since: left as it is
    assert [S.ecdh_x(sk, p) for p in peers] == xs
    S.clear_cache()


# loaded for a request or a prompt and dropped after it (app._tidy, app.redraw)
DROPPED = ("ui.screens", "ui.kinds", "ui.kinds_follows", "ui.kinds_more", "ui.prompt_text",
           "ui.prompt_pair", "signer.oversize", "signer.pairing", "signer.uri", "signer.audit",
           "signer.admin", "signer.perms", "crypto.jsontags", "crypto.nip04", "crypto.aes")


def test_code_loaded_for_a_request_and_dropped_after_it_leaves_nothing_behind():
    # on the unix port each import of a module with viper code records its machine
    # code's pages in a 32-byte heap block that is never freed: the simulator lost 32
    # bytes, at the frontier of the request, in every kind-3 prompt (ui.kinds_follows)
    for m in DROPPED:
        app._lazy(m)  # the first import interns names for good
        app._drop(m)
    for m in DROPPED:
        for _ in range(2):  # and what it imports, kept loaded (not the module's own)
            app._lazy(m)
            app._drop(m)
        gc.collect()
        before = gc.mem_free()
        for _ in range(8):
            app._lazy(m)
            app._drop(m)
        gc.collect()
        assert before - gc.mem_free() < 64, (m, before - gc.mem_free())

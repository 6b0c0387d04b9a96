# The kind-24133 envelope: who sent a request, is it fresh and new, what does it say;
# and the signed, encrypted response event.
#
# An event that fails any check here is unattributable (it may not come from the
# client its pubkey names, or it was already answered) and is dropped without a reply:
# replying would let anyone who can write to a relay or the USB link make the device
# emit signed events. Checks run cheapest first so junk costs little: shape, kind, p
# tag, age and replay before the id hash, the id before the Schnorr verification,
# and that before the ECDH of decryption.
from binascii import hexlify, unhexlify
from crypto import nip01, nip44, secp256k1

KIND = 24133


class Drop(Exception):
    pass


# NIP-44 conversation keys of recent clients: an ECDH costs a point multiplication,
# and a client usually sends several requests. Secret-derived, so RAM only, bounded,
# and cleared when the key changes.
_CK = {}
_CK_MAX = 6


def forget():
    _CK.clear()


def settle(high):
    # what secp256k1.settle does for its tables (app._settle)
    global _CK
    for k in _CK:
        if high(k) or high(_CK[k]):
            d = {}
            for k in _CK:
                d[k[:]] = _CK[k][:]
            _CK = d
            return


def conversation_key(sk, pub_hex):
    ck = _CK.get(pub_hex)
    if ck is None:
        if len(_CK) >= _CK_MAX:
            _CK.pop(next(iter(_CK)))
        ck = nip44.conversation_key(sk, unhexlify(pub_hex))
        _CK[pub_hex] = ck
    return ck


def nip04_module():
    # NIP-04 (and its AES) is imported the first time a client speaks it: most never do,
    # and its code would otherwise sit in the heap for nothing
    from crypto import nip04
    return nip04


def _p_tagged(tags, who):
    for t in tags:
        if len(t) >= 2 and t[0] == "p" and t[1] == who:
            return True
    return False


def check(ev, signer_hex, now, max_age, max_future, seen):
    """Raise Drop(reason) unless ev is a fresh, new, well-signed request to signer_hex."""
    try:
        nip01.validate(ev, True)
    except ValueError:
        raise Drop("invalid event")
    if ev["kind"] != KIND:
        raise Drop("wrong kind")
    if not _p_tagged(ev["tags"], signer_hex):
        raise Drop("wrong p tag")
    if not now:
        raise Drop("no time")
    if ev["created_at"] < now - max_age:
        raise Drop("stale")
    if ev["created_at"] > now + max_future:
        raise Drop("from the future")
    key = unhexlify(ev["id"])[:12]
    if key in seen:
        raise Drop("replayed")
    if nip01.event_id(ev) != ev["id"]:
        raise Drop("bad id")
    if not secp256k1.schnorr_verify(unhexlify(ev["id"]), unhexlify(ev["pubkey"]), unhexlify(ev["sig"])):
        raise Drop("bad signature")
    # recorded only once the signature holds, so forged events cannot evict real ids
    seen.add(key)


def open_(sk, ev):
    """Decrypt the request body -> (text, scheme); NIP-04 when the content looks like it."""
    content = ev["content"]
    try:
        if "?iv=" in content:
            nip04 = nip04_module()
            if nip04.is_nip04(content):
                return nip04.decrypt(sk, unhexlify(ev["pubkey"]), content), "nip04"
        return nip44.decrypt(content, conversation_key(sk, ev["pubkey"])), "nip44"
    except MemoryError:
        raise
    except Exception:
        raise Drop("undecryptable")


def seal(sk, signer_hex, client_hex, text, scheme, now):
    """The signed kind-24133 response carrying text to client_hex, in the request's scheme."""
    if scheme == "nip04":
        content = nip04_module().encrypt(sk, unhexlify(client_hex), text)
    else:
        content = nip44.encrypt(text, conversation_key(sk, client_hex))
    text = None
    return nip01.sign({"pubkey": signer_hex, "created_at": now, "kind": KIND,
                       "tags": [["p", client_hex]], "content": content}, sk)


def pub_hex(sk):
    return hexlify(secp256k1.pubkey(sk)).decode()

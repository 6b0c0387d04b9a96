# The NIP-46 operations that use the key: check params, then (after approval) run.
#
# prepare() parses a request's params once into an "op" dict; the approval screen is
# drawn from that op and run() acts on the same op, so what is signed or encrypted is
# exactly what was shown.
#
# Nothing keyed happens in prepare(): no decryption, no ECDH, nothing whose result or
# failure depends on the ciphertext or the key. Before approval only the public shape
# of a ciphertext (base64, lengths, version) is checked, so what a client can learn
# before the person approves (an answer, its text, its timing, whether it was queued)
# is the same for a good and a bad ciphertext; otherwise NIP-04's CBC padding is an
# oracle that opens any DM the client holds (issue 11, break 1). Decrypts run in run(),
# after approval (or under a rule the person set), and a bad ciphertext is answered then.
#
# Errors are rpc.Refuse(error for the client, outcome for the host log); outcomes
# never hold the client's plaintext.
import json
from binascii import hexlify, unhexlify
from crypto import jsonspan, nip01, nip44, secp256k1
from signer.rpc import Refuse
from signer.envelope import nip04_module as _nip04

# methods that use the key and so need approval unless a rule allows them
KEYED = ("sign_event", "nip04_encrypt", "nip04_decrypt", "nip44_encrypt", "nip44_decrypt",
         "nip44_get_key")

_HEX = "0123456789abcdef"


def _invalid(what):
    raise Refuse("invalid params: " + what, "invalid params")


def _peer(params, n):
    if len(params) != n:
        _invalid("expected %d params" % n)
    p = params[0].lower()
    if len(p) != 64 or any(c not in _HEX for c in p):
        _invalid("pubkey must be 64 hex characters")
    pub = unhexlify(p)
    if not secp256k1.pubkey_valid(pub):
        _invalid("pubkey is not on the curve")
    return pub


def _loads(text):
    # json.loads of the template; a big one (a memoryview in the request's buffer, from
    # rpc.parse) is read where it lies: crypto/jsontags.py, loaded for it
    if type(text) is not memoryview:
        return json.loads(text)
    from crypto import jsontags
    return jsontags.loads(text)


def _template(text, signer_hex, now):
    try:
        tpl = _loads(text)
    except ValueError:
        _invalid("event is not JSON")
    if type(tpl) is not dict:
        _invalid("event is not an object")
    # id and sig are ours to compute; a client passing a finished event loses them
    tpl.pop("id", None)
    tpl.pop("sig", None)
    if "created_at" not in tpl:
        tpl["created_at"] = now
    if "tags" not in tpl:
        tpl["tags"] = []
    try:
        nip01.validate(tpl, False)
    except ValueError as e:
        raise Refuse(str(e), "invalid event")
    if "pubkey" in tpl and tpl["pubkey"] != signer_hex:
        raise Refuse("invalid event: pubkey is not this signer's", "invalid pubkey")
    tpl["pubkey"] = signer_hex
    return tpl


def prepare(method, params, sk, signer_hex, now):
    """-> op dict for method (one of KEYED), or raise Refuse."""
    if method == "sign_event":
        if len(params) != 1:
            _invalid("expected 1 param")
        tpl = _template(params[0], signer_hex, now)
        n = len(params[0])
        # a content or tags left in the request's buffer keep that whole buffer alive
        # (up to its base64 size)
        held = type(tpl["content"]) is memoryview or type(tpl["tags"]) is not list
        return {"tpl": tpl, "kind": tpl["kind"], "size": n * 4 // 3 if held else n}
    if method == "nip44_get_key":
        return {"peer": _peer(params, 1), "size": 64}
    peer = _peer(params, 2)
    text = params[1]
    if method.endswith("encrypt"):
        text = _js_utf8(text)
    # a text left in the request's buffer (rpc._big) keeps that buffer alive
    held = type(text) is memoryview
    op = {"peer": peer, "size": len(text) * 4 // 3 + 64 if held else 2 * len(text) + 64}
    if method == "nip44_encrypt":
        if not 1 <= len(memoryview(text)) <= 65535:  # UTF-8 bytes, not copied
            _invalid("plaintext must be 1..65535 bytes")
    elif method == "nip04_decrypt":
        _public_nip04(text)
        op["ct"] = text
        text = ""  # not known until approved
    elif method == "nip44_decrypt":
        _public_nip44(text)
        op["ct"] = text
        text = ""
    op["text"] = text
    return op


def run(method, op, sk):
    """Do the approved operation -> its result: a str, a signed event (a dict), the
    plaintext of a big decrypt (a memoryview in the request's buffer) or the payload of
    a big encrypt (a function yielding its base64)."""
    if method == "sign_event":
        tpl = op.pop("tpl")  # the op is spent: free the template as the event is built
        ev = nip01.sign(tpl, sk)
        tpl = None
        # the dict, not its JSON: envelope.seal_response writes that into the payload
        return ev
    if method == "nip04_encrypt":
        text = op["text"]
        if type(text) is memoryview:  # as nip44's below
            return _nip04().seal_stream(sk, op["peer"], text)
        return _nip04().encrypt(sk, op["peer"], text)
    if method == "nip44_encrypt":
        ck = nip44.conversation_key(sk, op["peer"])
        text = op["text"]
        if type(text) is memoryview:
            # sealed as the response is read out (rpc.response_pieces), in ~1 KB pieces,
            # the same each time: no block of the payload's size
            return nip44.seal_stream(ck, len(text), lambda: (text,))
        return nip44.encrypt(text, ck)
    if method == "nip44_get_key":
        return hexlify(nip44.conversation_key(sk, op["peer"])).decode()
    # the decrypts, only now (approved): their failures are answered now too
    ct = op.pop("ct")
    try:
        if method == "nip04_decrypt":  # a memoryview is opened in place
            text = _nip04().decrypt(sk, op["peer"], ct)
        else:  # a big one (a memoryview in the request's buffer) in place
            ck = nip44.conversation_key(sk, op["peer"])
            text = nip44.decrypt_mv(ct, ck) if type(ct) is memoryview else nip44.decrypt(ct, ck)
    except ValueError:
        raise Refuse("invalid ciphertext", "invalid ciphertext")
    # an empty string result never resolves in nostr-tools: say so instead
    if not len(text):
        raise Refuse("invalid ciphertext: empty plaintext", "invalid ciphertext")
    return text


def _js_utf8(text):
    # the bytes a client's TextEncoder makes of the string it sent, not the CESU-8 that
    # json.loads leaves for "\ud83d\ude00" (how ensure_ascii clients send an emoji):
    # encrypted as that, no reader could decode it. The request was strict UTF-8
    # (signer/requests.py), so a surrogate from an escape is all that can fail here
    b = memoryview(text)
    n = len(b)
    if nip01.utf8_strict(b, n):
        return text
    if type(text) is str:
        b = memoryview(bytearray(b))
    return b[0:jsonspan.utf8_of_cesu(b, n)]


def _public_nip04(ct):
    # what anyone can check without the key: "b64?iv=b64", strict base64, a 24-character
    # IV, whole AES blocks (crypto/nip04.py shape)
    try:
        _nip04().shape(ct)
    except ValueError:
        _invalid("not a nip04 ciphertext")


def _public_nip44(ct):
    # version, size and base64 of the payload (no key involved, nothing decoded); the
    # MAC is checked only after approval
    try:
        nip44.shape(ct)
    except ValueError:
        _invalid("not a nip44 ciphertext")

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
from crypto import nip01, nip44, secp256k1
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
    op = {"peer": peer, "size": 2 * len(text) + 64}
    if method == "nip44_encrypt":
        if not 1 <= len(text.encode()) <= 65535:
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
    """Do the approved operation -> result string."""
    if method == "sign_event":
        tpl = op.pop("tpl")  # the op is spent: free the template as the event is built
        ev = nip01.sign(tpl, sk)
        tpl = None
        # the dict, not its JSON: envelope.seal_response writes that into the payload
        return ev
    if method == "nip04_encrypt":
        return _nip04().encrypt(sk, op["peer"], op["text"])
    if method == "nip44_encrypt":
        return nip44.encrypt(op["text"], nip44.conversation_key(sk, op["peer"]))
    if method == "nip44_get_key":
        return hexlify(nip44.conversation_key(sk, op["peer"])).decode()
    # the decrypts, only now (approved): their failures are answered now too
    ct = op.pop("ct")
    try:
        if method == "nip04_decrypt":
            text = _nip04().decrypt(sk, op["peer"], ct)
        else:
            text = nip44.decrypt(ct, nip44.conversation_key(sk, op["peer"]))
    except ValueError:
        raise Refuse("invalid ciphertext", "invalid ciphertext")
    # an empty string result never resolves in nostr-tools: say so instead
    if not text:
        raise Refuse("invalid ciphertext: empty plaintext", "invalid ciphertext")
    return text


def _public_nip04(ct):
    # what anyone can check without the key: "b64?iv=b64", strict base64, a 16-byte IV,
    # whole AES blocks
    nip04 = _nip04()
    if not nip04.is_nip04(ct):
        _invalid("not a nip04 ciphertext")
    a, b = ct.split("?iv=", 1)
    for part in (a, b):
        if not part or len(part) % 4 or len(memoryview(part)) != len(part) or not nip44._b64_ok(part, len(part)):
            _invalid("not a nip04 ciphertext")
    n = len(a) // 4 * 3 - (a[-1] == "=") - (a[-2] == "=")
    if n < 16 or n % 16:
        _invalid("not a nip04 ciphertext")


def _public_nip44(ct):
    # version, size and base64 of the payload (nip44._decode: no key involved); the MAC
    # is checked only after approval
    if type(ct) is not str:
        _invalid("not a nip44 ciphertext")
    try:
        nip44._decode(ct)
    except ValueError:
        _invalid("not a nip44 ciphertext")

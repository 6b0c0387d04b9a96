"""Invalid UTF-8 in a request is refused, never signed as raw bytes (issue 11, also
fix): MicroPython's own check only looks at each sequence's shape, so overlong forms,
raw CESU-8 surrogates and F5+ bytes used to get into a template's strings and from
there into the signed event and onto the screen. JSON escapes (\\ud83d\\ude00) are
ASCII and stay legal."""
import json
import time

import pytest

from test_signer_harness import SIGNER_PUB, answer, client, dev, done, of, pair  # noqa: F401


class Raw(str):
    # a request body whose bytes are exactly `raw` (refclient encrypts text.encode())
    def __new__(cls, raw):
        s = super().__new__(cls, raw.decode("latin-1"))
        s.raw = raw
        return s

    def encode(self, *a, **k):
        return self.raw


def body(content_bytes, req_id="u1", pad=0):
    tpl = json.dumps({"kind": 1, "content": "@@", "tags": [], "created_at": int(time.time())})
    text = json.dumps({"id": req_id, "method": "sign_event", "params": [tpl]}).encode()
    return Raw(text.replace(b"@@", b"x" * pad + content_bytes))


BAD = {
    "overlong slash": b"\xc0\xaf",
    "overlong 3-byte": b"\xe0\x80\xaf",
    "F5 lead": b"\xf5\x80\x80\x80",
    "past U+10FFFF": b"\xf4\x90\x80\x80",
    "raw CESU-8 pair": b"\xed\xa0\xbd\xed\xb8\x80",
    "raw lone surrogate": b"\xed\xa0\x80",
}


# NIP-44 small (decrypted to a str), NIP-44 big (decrypted in the link's buffer: a
# memoryview), NIP-04 (a str whatever its size)
WAYS = [("nip44", 0), ("nip44", 3000), ("nip04", 0)]


@pytest.mark.parametrize("scheme,pad", WAYS, ids=["nip44", "nip44-in-place", "nip04"])
@pytest.mark.parametrize("name", list(BAD))
def test_a_template_with_invalid_utf8_is_never_signed(dev, client, name, pad, scheme):
    pair(dev, client, perms="sign_event:1", scheme=scheme)  # signed at once if it got through
    ev = client.request(SIGNER_PUB, None, None, scheme=scheme, body=body(BAD[name], pad=pad), req_id="u1")
    rid, msgs = dev.event(ev)
    assert not of(msgs, "publish"), name
    assert done(msgs, rid)["outcome"] == "dropped: invalid request"
    assert dev.screen[0] == "NOSTR SIGNER"


@pytest.mark.parametrize("pad", [0, 3000], ids=["small", "in-place"])
def test_real_utf8_and_json_escapes_are_still_signed(dev, client, pad):
    pair(dev, client, perms="sign_event:1")
    content = "\U0001F600 caf\u00e9 \u20ac".encode() + b" \\\\ud83d\\\\ude00"
    ev = client.request(SIGNER_PUB, None, None, body=body(content, pad=pad), req_id="u1")
    rid, msgs = dev.event(ev)
    signed = json.loads(answer(client, msgs, rid)[0]["result"])
    assert signed["content"].endswith("\U0001F600 caf\u00e9 \u20ac \U0001F600")

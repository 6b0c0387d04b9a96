"""End to end with rust-nostr's NIP-46 client (nostr-sdk from PyPI): NostrConnect over a
real relay (nostr-sdk's LocalRelay) <-> the bridge's serve() <-> the simulator firmware,
prompts answered on the simulator's screen. A second, independent client implementation
besides nostr-tools: what one accepts and the other doesn't is an interop bug."""
import json
import time
from datetime import timedelta

import coincurve
import pytest
from nostr_sdk import EventBuilder, Keys, Kind, NostrConnect, NostrConnectUri, PublicKey

from harness import run_body, signer_on_relay

pytestmark = pytest.mark.timeout(180)


def xonly_ok(event_json):
    ev = json.loads(event_json)
    pub = coincurve.PublicKeyXOnly(bytes.fromhex(ev["pubkey"]))
    return pub.verify(bytes.fromhex(ev["sig"]), bytes.fromhex(ev["id"])), ev


def test_rust_nostr_nostrconnect_client_signs_and_encrypts_through_the_device(tmp_path):
    async def body():
        async with signer_on_relay(tmp_path) as s:
            pub, bridge = s.pub, s.bridge
            signer = NostrConnect(NostrConnectUri.parse(s.url), Keys.generate(),
                                  timedelta(seconds=30), None)

            got = await signer.get_public_key_async()
            assert got.to_hex() == pub

            note = "signed by a hardware signer, asked by rust-nostr"
            unsigned = EventBuilder(Kind(1), note).finalize_unsigned(got)
            signed = await signer.sign_event_async(unsigned)
            ok, ev = xonly_ok(signed.as_json())
            assert ok and ev["pubkey"] == pub and ev["content"] == note and ev["kind"] == 1
            assert signed.verify()

            third = Keys.generate().public_key()
            for enc, dec in ((signer.nip44_encrypt_async, signer.nip44_decrypt_async),
                             (signer.nip04_encrypt_async, signer.nip04_decrypt_async)):
                text = "for a third party at %d ✓" % time.time()
                ct = await enc(third, text)
                assert text not in ct
                assert await dec(third, ct) == text

            # the courier logged every request without plaintext
            log = "\n".join(bridge.lines)
            assert note not in log and "third party" not in log
            assert any("sign_event" in ln and "ok" in ln for ln in bridge.lines)
            assert await bridge.close() == 0

    run_body(body)


def test_rust_nostr_sees_a_rejection_as_an_error(tmp_path):
    # approve the connection, reject the signature
    decide = lambda lines: "approve" if "CONNECT" in lines[0] else "reject"  # noqa: E731

    async def body():
        async with signer_on_relay(tmp_path, decide) as s:
            pub, bridge = s.pub, s.bridge
            signer = NostrConnect(NostrConnectUri.parse(s.url), Keys.generate(),
                                  timedelta(seconds=30), None)
            assert (await signer.get_public_key_async()).to_hex() == pub
            unsigned = EventBuilder(Kind(1), "please reject").finalize_unsigned(PublicKey.parse(pub))
            with pytest.raises(Exception) as e:
                await signer.sign_event_async(unsigned)
            assert "reject" in str(e.value).lower()
            assert await bridge.close() == 0

    run_body(body)

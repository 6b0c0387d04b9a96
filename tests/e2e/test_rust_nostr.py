"""End to end with rust-nostr's NIP-46 client (nostr-sdk from PyPI): NostrConnect over a
real relay (nostr-sdk's LocalRelay) <-> the bridge's serve() <-> the simulator firmware,
prompts answered on the simulator's screen. A second, independent client implementation
besides nostr-tools: what one accepts and the other doesn't is an interop bug."""
import asyncio
import json
import time
from datetime import timedelta
from urllib.parse import quote

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


def test_rust_nostr_pairs_by_its_own_nostrconnect_uri_and_signs(tmp_path):
    # the client-initiated flow: rust-nostr makes the nostrconnect:// URI and waits; the
    # person hands it to the device (bridge connect), approves the pairing on its screen,
    # and the library learns the signer's key from the device's answer
    async def body():
        async with signer_on_relay(tmp_path) as s:
            keys = Keys.generate()
            uri = "nostrconnect://%s?relay=%s&secret=%s&metadata=%s" % (
                keys.public_key().to_hex(), quote(s.relay.url, safe=""), "pair-rust-%d" % time.time(),
                quote(json.dumps({"name": "rust-nostr e2e"}), safe=""))
            signer = NostrConnect(NostrConnectUri.parse(uri), keys, timedelta(seconds=40), None)
            waiting = asyncio.ensure_future(signer.get_public_key_async())
            await asyncio.sleep(1.5)  # its subscription first: the device's answer is ephemeral
            await s.bridge.courier.nostrconnect(uri)
            got = await asyncio.wait_for(waiting, 90)
            assert got.to_hex() == s.pub
            unsigned = EventBuilder(Kind(1), "paired by nostrconnect").finalize_unsigned(got)
            signed = await signer.sign_event_async(unsigned)
            ok, ev = xonly_ok(signed.as_json())
            assert ok and ev["pubkey"] == s.pub and ev["content"] == "paired by nostrconnect"
            assert any("PAIR" in " ".join(p) or "CONNECT" in " ".join(p) for p in s.person.seen), s.person.seen
            assert await s.bridge.close() == 0

    run_body(body)


def test_rust_nostr_encrypts_and_decrypts_a_7000_character_text_at_128k(tmp_path):
    # big enough to be kept in the request's buffer and sealed as it is sent (signer/rpc.py
    # _big, nip44/nip04 seal_stream), taken whole or as a stream by the bridge; what the
    # device encrypts opens with rust-nostr's own NIP-44/NIP-04 under the third party's key
    from nostr_sdk import nip04_decrypt, nip04_encrypt, nip44_decrypt, nip44_encrypt, Nip44Version

    async def body():
        async with signer_on_relay(tmp_path, heap="128K") as s:
            signer = NostrConnect(NostrConnectUri.parse(s.url), Keys.generate(),
                                  timedelta(seconds=60), None)
            me = await signer.get_public_key_async()
            third = Keys.generate()
            text = ("a long direct message \u2713 with \"quotes\" and \\ back\n" * 200)[:7000]
            ct = await signer.nip44_encrypt_async(third.public_key(), text)
            assert nip44_decrypt(third.secret_key(), me, ct) == text
            ct = nip44_encrypt(third.secret_key(), me, text, Nip44Version.V2)
            assert await signer.nip44_decrypt_async(third.public_key(), ct) == text
            ct = await signer.nip04_encrypt_async(third.public_key(), text)
            assert nip04_decrypt(third.secret_key(), me, ct) == text
            ct = nip04_encrypt(third.secret_key(), me, text)
            assert await signer.nip04_decrypt_async(third.public_key(), ct) == text
            assert "long direct message" not in "\n".join(s.bridge.lines)
            assert await s.bridge.close() == 0

    run_body(body)

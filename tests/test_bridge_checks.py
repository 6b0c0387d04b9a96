"""bridge/checks.py: what the person typed, checked before the device is asked."""
import os

import coincurve
import pytest
from embit import bech32

from bridge.checks import nostrconnect_problem, secret_key_hex, serial_port_problem

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
PK = "cd" * 32


def nsec(raw):
    return bech32.bech32_encode(bech32.Encoding.BECH32, "nsec", bech32.convertbits(raw, 8, 5))


def test_serial_port_problem():
    assert "a directory, not a serial port" in serial_port_problem("/tmp")
    assert "a regular file, not a serial port" in serial_port_problem("/etc/passwd")
    assert serial_port_problem("/dev/null") is None          # a character device: pyserial decides
    assert serial_port_problem("/dev/ttyACM-not-plugged-in") is None   # may appear later


def test_secret_key_hex_accepts_hex_and_nsec():
    sk = bytes(range(1, 33))
    assert secret_key_hex(sk.hex().upper() + "\n") == sk.hex()
    assert secret_key_hex("  " + nsec(sk) + "\n") == sk.hex()
    assert secret_key_hex("%064x" % (N - 1)) == "%064x" % (N - 1)
    # the npub of the same key is refused as what it is
    pub = coincurve.PrivateKey(sk).public_key_xonly.format()
    npub = bech32.bech32_encode(bech32.Encoding.BECH32, "npub", bech32.convertbits(pub, 8, 5))
    with pytest.raises(ValueError, match="public key"):
        secret_key_hex(npub)


@pytest.mark.parametrize("bad,why", [
    ("", "no key"),
    ("00" * 32, "out of range"),
    ("%064x" % N, "out of range"),
    ("ab" * 31, "64 hex digits"),
    ("zz" * 32, "64 hex digits"),
    ("nsec1" + "q" * 58, "checksum"),
])
def test_secret_key_hex_says_why_and_never_echoes(bad, why):
    with pytest.raises(ValueError, match=why) as e:
        secret_key_hex(bad)
    assert not bad or bad not in str(e.value)


def test_secret_key_hex_bad_nsec_checksum():
    good = nsec(os.urandom(32))
    bad = good[:-1] + ("q" if good[-1] != "q" else "p")
    with pytest.raises(ValueError, match="checksum"):
        secret_key_hex(bad)


@pytest.mark.parametrize("uri,why", [
    ("bunker://" + PK + "?relay=wss%3A%2F%2Fr.example", "expected a nostrconnect://"),
    ("nostrconnect://abc?relay=wss%3A%2F%2Fr.example&secret=s", "64 hex digits"),
    ("nostrconnect://" + PK + "?secret=s", "no relay="),
    ("nostrconnect://" + PK + "?relay=wss%3A%2F%2Fr.example", "no secret="),
    ("nostrconnect://" + PK + "?relay=https%3A%2F%2Fr.example&secret=s", "not a ws:// or wss://"),
    ("nostrconnect://" + PK + "?relay=wss%3A%2F%2Fr.example&secret=s&name=%zz", "%-escape"),
    ("nostrconnect://" + PK + "?relay=wss%3A%2F%2Fr.example&secret=" + "x" * 129, "longer than 128"),
    ("nostrconnect://" + PK + "?" + "&".join("relay=wss://r%d.example" % i for i in range(9)) + "&secret=s",
     "more than 8"),
])
def test_nostrconnect_problem_says_why(uri, why):
    assert why in (nostrconnect_problem(uri) or "")


def test_nostrconnect_problem_accepts_what_clients_send():
    # as nostr-tools builds it (URLSearchParams: form encoding, + for a space)
    uri = ("nostrconnect://" + PK + "?relay=wss%3A%2F%2Frelay.nsec.app&relay=ws%3A%2F%2F127.0.0.1%3A7777"
           "&secret=0s9d8f&perms=sign_event%3A1%2Cnip44_encrypt&name=My+Client&url=https%3A%2F%2Fx.example")
    assert nostrconnect_problem(uri) is None
    assert nostrconnect_problem("nostrconnect://" + PK.upper() + "/?relay=wss://r.example&secret=s") is None

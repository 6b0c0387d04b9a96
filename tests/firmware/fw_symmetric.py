# Known-answer tests of the symmetric primitives on the unix port: ChaCha20 (RFC 8439),
# HMAC (RFC 4231), HKDF (RFC 5869), SHA-512 (FIPS 180-4), PBKDF2-HMAC-SHA512, our hmac/hashlib.
import binascii

from crypto.chacha20 import chacha20_xor
from crypto import kdf
from crypto.sha512 import sha512

h = bytes.fromhex


def hx(b):
    return binascii.hexlify(b).decode()


def test_chacha20_rfc8439_encryption_vector():
    pt = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
          b"for the future, sunscreen would be it.")
    ct = chacha20_xor(bytes(range(32)), h("000000000000004a00000000"), pt, 1)
    assert hx(ct) == (
        "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
        "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
        "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
        "5af90bbf74a35be6b40b8eedf2785e42874d")


def test_chacha20_rfc8439_keystream_block():
    ks = chacha20_xor(bytes(range(32)), h("000000090000004a00000000"), bytes(64), 1)
    assert hx(ks) == (
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")


def test_chacha20_in_place_equals_copy():
    data = bytearray(range(200))
    want = chacha20_xor(bytes(32), bytes(12), data)
    chacha20_xor(bytes(32), bytes(12), data, 0, data)
    assert data == want


def test_hmac_sha256_rfc4231_case_2():
    assert hx(kdf.hmac_sha256(b"Jefe", b"what do ya want for nothing?")) == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_hmac_sha256_long_key_rfc4231_case_6():
    mac = kdf.hmac_sha256(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First")
    assert hx(mac) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


def test_hkdf_rfc5869_case_1():
    prk = kdf.hkdf_extract(h("000102030405060708090a0b0c"), b"\x0b" * 22)
    assert hx(prk) == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    okm = kdf.hkdf_expand(prk, h("f0f1f2f3f4f5f6f7f8f9"), 42)
    assert hx(okm) == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                       "34007208d5b887185865")


def test_ct_equal():
    assert kdf.ct_equal(b"abc", b"abc")
    assert not kdf.ct_equal(b"abc", b"abd")
    assert not kdf.ct_equal(b"abc", b"ab")


def test_sha512_fips_vectors():
    assert sha512(b"").hexdigest().startswith("cf83e1357eefb8bdf1542850d66d8007")
    assert sha512(b"abc").hexdigest() == (
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
    two_blocks = (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                  b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
    assert sha512(two_blocks).hexdigest() == (
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
        "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909")


def test_sha512_incremental_and_copy_agree():
    a = sha512()
    for i in range(37):
        a.update(bytes([i]) * i)
    b = a.copy()
    b.update(b"tail")
    whole = b"".join(bytes([i]) * i for i in range(37))
    assert a.digest() == sha512(whole).digest()
    assert b.digest() == sha512(whole + b"tail").digest()


def test_hashlib_shim_keeps_builtins_and_adds_sha512_pbkdf2():
    import hashlib
    assert hashlib.sha256(b"abc").digest() == h("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert hashlib.sha512 is sha512
    dk = hashlib.pbkdf2_hmac("sha512", b"password", b"salt", 2048, 64)
    assert hx(dk) == ("91be23564f09fc855c82ce84a223ebe7d63d8b49d69372593a0d9ed39e143c83"
                      "e1ab2f722a5ddb969feefc88403f7e2afe1afb8b2f0e6b20add0fb7b28368807")
    assert hx(hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 2, 32)) == \
        "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"


def test_pbkdf2_reports_progress_to_the_end():
    import hashlib
    seen = []
    hashlib.pbkdf2_hmac("sha512", b"p", b"s", 2048, 64, lambda d, t: seen.append((d, t)))
    assert seen[-1] == (2048, 2048) and len(seen) > 4


def test_hmac_module_as_embit_calls_it():
    import hmac
    m = hmac.new(b"key", b"The quick brown fox jumps over the lazy dog", digestmod="sha512")
    assert m.hexdigest().startswith("b42af09057bac1e2d41708e48a902e09")
    assert hmac.compare_digest(b"x", b"x") and not hmac.compare_digest(b"x", b"y")

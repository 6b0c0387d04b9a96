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


# ---- more known answers (RFC 8439 A.1/A.2, RFC 4231, RFC 5869, FIPS 180-4/197, PBKDF2) ----

def test_chacha20_rfc8439_a1_zero_key_block():
    ks = chacha20_xor(bytes(32), bytes(12), bytes(64))
    assert hx(ks) == (
        "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
        "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586")


def test_chacha20_rfc8439_a2_ietf_text_spans_six_blocks_and_a_tail():
    txt = (b"Any submission to the IETF intended by the Contributor for publication as all or "
           b"part of an IETF Internet-Draft or RFC and any statement made within the context of "
           b"an IETF activity is considered an \"IETF Contribution\". Such statements include "
           b"oral statements in IETF sessions, as well as written and electronic communications "
           b"made at any time or place, which are addressed to")
    assert len(txt) == 375
    ct = chacha20_xor(bytes(31) + b"\x01", bytes(11) + b"\x02", txt, 1)
    assert hx(ct) == _A2_CT
    # decrypting is the same XOR; and it works on a memoryview slice in place
    buf = bytearray(b"##" + bytes(ct) + b"##")
    mv = memoryview(buf)[2:2 + len(ct)]
    chacha20_xor(bytes(31) + b"\x01", bytes(11) + b"\x02", mv, 1, mv)
    assert bytes(mv) == txt and buf[:2] == b"##" and buf[-2:] == b"##"


_A2_CT = (
    "a3fbf07df3fa2fde4f376ca23e82737041605d9f4f4f57bd8cff2c1d4b7955ec2a97948bd3722915c8f3d337f7d370050e9e96d647b7c39f56e031ca5eb6250d"
    "4042e02785ececfa4b4bb5e8ead0440e20b6e8db09d881a7c6132f420e52795042bdfa7773d8a9051447b3291ce1411c680465552aa6c405b7764d5e87bea85a"
    "d00f8449ed8f72d0d662ab052691ca66424bc86d2df80ea41f43abf937d3259dc4b2d0dfb48a6c9139ddd7f76966e928e635553ba76c5c879d7b35d49eb2e62b"
    "0871cdac638939e25e8a1e0ef9d5280fa8ca328b351c3c765989cbcf3daa8b6ccc3aaf9f3979c92b3720fc88dc95ed84a1be059c6499b9fda236e7e818b04b0b"
    "c39c1e876b193bfe5569753f88128cc08aaa9b63d1a16f80ef2554d7189c411f5869ca52c5b83fa36ff216b9c1d30062bebcfd2dc5bce0911934fda79a86f6e6"
    "98ced759c3ff9b6477338f3da4f9cd8514ea9982ccafb341b2384dd902f3d1ab7ac61dd29c6f21ba5b862f3730e37cfdc4fd806c22f221")


def test_chacha20_refuses_bad_key_and_nonce():
    for k, n in ((bytes(31), bytes(12)), (bytes(32), bytes(8)), (bytes(33), bytes(12))):
        try:
            chacha20_xor(k, n, b"x")
        except ValueError:
            continue
        assert False, (len(k), len(n))
    assert chacha20_xor(bytes(32), bytes(12), b"") == b""


# RFC 4231 cases 1-4, 6, 7: (key, data, first 8 bytes of HMAC-SHA256, of HMAC-SHA512)
_RFC4231 = (
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db3853", "87aa7cdea5ef619d"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e", "164b7a7bfcf819e2"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46", "fa73b0089d56a284"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0e", "b0ba465637458c69"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f", "80b24263c7c1a3eb"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than "
     b"block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb", "e37b6a775dc87dba"),
)


def test_hmac_rfc4231_sha256_and_sha512():
    import hmac
    for key, data, want256, want512 in _RFC4231:
        assert hx(kdf.hmac_sha256(key, data))[:16] == want256
        assert hx(hmac.new(key, data, "sha256").digest())[:16] == want256
        assert hx(hmac.new(key, data, digestmod="sha512").digest())[:16] == want512
    # case 5 is about truncation: the first 128 bits
    assert hx(hmac.new(b"\x0c" * 20, b"Test With Truncation", "sha512").digest()[:16]) == \
        "415fad6271580a531d4179bc891d87a6"


def test_hmac_sha256_of_parts_equals_of_the_join():
    assert kdf.hmac_sha256(b"k", b"ab", b"cd", memoryview(b"ef")) == kdf.hmac_sha256(b"k", b"abcdef")


def test_hmac_copy_and_repeated_digest_for_both_hashes():
    import hmac
    import hashlib
    for dm in ("sha256", "sha512", hashlib.sha256, hashlib.sha512):
        m = hmac.new(b"key", b"The quick brown fox ", digestmod=dm)
        c = m.copy()
        m.update(b"jumps over the lazy dog")
        d = m.digest()
        assert m.digest() == d
        c.update(b"jumps over the lazy dog")
        assert c.digest() == d
    assert hx(d).startswith("b42af09057bac1e2d41708e48a902e09")


def test_hkdf_rfc5869_case_2_long_inputs():
    prk = kdf.hkdf_extract(bytes(range(0x60, 0xB0)), bytes(range(0x50)))
    assert hx(prk) == "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244"
    okm = kdf.hkdf_expand(prk, bytes(range(0xB0, 0x100)), 82)
    assert hx(okm) == (
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
        "cc30c58179ec3e87c14c01d5c1f3434f1d87")


def test_hkdf_rfc5869_case_3_no_salt_no_info():
    okm = kdf.hkdf_expand(kdf.hkdf_extract(b"", b"\x0b" * 22), b"", 42)
    assert hx(okm) == ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                       "9d201395faa4b61a96c8")


def test_hkdf_expand_limits():
    for n in (-1, 255 * 32 + 1):
        try:
            kdf.hkdf_expand(bytes(32), b"", n)
        except ValueError:
            continue
        assert False, n
    assert len(kdf.hkdf_expand(bytes(32), b"", 255 * 32)) == 255 * 32


# sha512(bytes(i & 255 for i in range(n))) from CPython's hashlib: block and padding edges
_SHA512_EDGES = (
    (0, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
    (1, "b8244d028981d693af7b456af8efa4cad63d282e19ff14942c246e50d9351d22"
        "704a802a71c3580b6370de4ceb293c324a8423342557d4e5c38438f0e36910ee"),
    (111, "a1a111449b198d9b1f538bad7f3fc1022b3a5b1a5e90a0bc860de8512746cbc3"
          "1599e6c834de3a3235327af0b51ff57bf7acf1974a73014d9c3953812edc7c8d"),
    (112, "c5fbd731d19d2ae1180f001be72c2c1aaba1d7b094b3748880e24593b8e117a7"
          "50e11c1bd867cc2f96dace8c8b74abd2d5c4f236be444e77d30d1916174070b9"),
    (113, "61b2e77db697dfe5571fff3ed06bd60c41e1e7b7c08a80de01cb16526d9a9a52"
          "d690dfbe792278a60f6e2b4c57a97c729773f26e258d2393890c985d645f6715"),
    (127, "eab89674feaa34e27aebeeff3c0a4d70070bb872d5e9f186cf1dbbdee517b6e3"
          "5724d629ff025a5b07185e911ada7e3c8acf830aa0e4f71777bd2d44f504f7f0"),
    (128, "1dffd5e3adb71d45d2245939665521ae001a317a03720a45732ba1900ca3b835"
          "1fc5c9b4ca513eba6f80bc7b1d1fdad4abd13491cb824d61b08d8c0e1561b3f7"),
    (129, "1d9da57fbbdab09afb3506ab2d223d06109d65c1c8ad197f50138f714bc4c3f2"
          "fe5787922639c680acad1c651f955990425954ce2cba0c5cc83f2667d878eb0f"),
    (256, "1e7b80bc8edc552c8feeb2780e111477e5bc70465fac1a77b29b35980c3f0ce4"
          "a036a6c9462036824bd56801e62af7e9feba5c22ed8a5af877bf7de117dcac6d"),
)


def test_sha512_empty_and_block_edges():
    for n, want in _SHA512_EDGES:
        data = bytes(i & 255 for i in range(n))
        assert sha512(data).hexdigest() == want, n
        # the same bytes fed in uneven pieces
        s = sha512()
        i = 0
        step = 1
        while i < n:
            s.update(data[i:i + step])
            i += step
            step = step * 3 % 131 + 1
        assert s.hexdigest() == want, n


def test_sha512_million_a_fips():
    s = sha512()
    chunk = b"a" * 1000
    for _ in range(1000):
        s.update(chunk)
    assert s.hexdigest() == (
        "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
        "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b")


def test_sha512_digest_does_not_finalise():
    s = sha512(b"ab")
    d = s.digest()
    assert s.digest() == d
    s.update(b"c")
    assert s.digest() == sha512(b"abc").digest()


def test_pbkdf2_known_answers():
    import hashlib
    pb = hashlib.pbkdf2_hmac
    assert hx(pb("sha512", b"password", b"salt", 1, 64)) == (
        "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
        "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce")
    assert hx(pb("sha512", b"password", b"salt", 2, 64)) == (
        "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53c"
        "f76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e")
    assert hx(pb("sha512", b"password", b"salt", 4096, 64)) == (
        "d197b1b33db0143e018b12f3d1d1479e6cdebdcc97c5c0f87f6902e072f457b5"
        "143f30602641b3d55cd335988cb36b84376060ecd532e039b742a239434af2d5")
    assert hx(pb("sha512", b"passwordPASSWORDpassword",
                 b"saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 64)) == (
        "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71"
        "115b59f9e60cd9532fa33e0f75aefe30225c583a186cd82bd4daea9724a3d3b8")
    # a password longer than the block is hashed first; dklen over one block needs two
    assert hx(pb("sha512", b"p" * 200, b"salt", 3, 100)) == (
        "0499d2f52a54272883fc04786c49cbfe54771bb53aa16a2f8d3fdad6a6ef15fa"
        "d0133b49b8e08dc4bbd208c754356edd34d0e5e2516c4975f9150c616cc96d35"
        "6e8358be8ec6f4dd31f51d5bef0bb3cbf08428868645ac607227262ee9ca9bcd67d6eaf6")
    assert hx(pb("sha256", b"password", b"salt", 1, 32)) == \
        "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
    assert hx(pb("sha256", b"password", b"salt", 4096, 32)) == \
        "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"


def test_aes256_fips197_known_answer_in_both_implementations():
    from crypto import aes
    key = bytes(range(32))
    pt = h("00112233445566778899aabbccddeeff")
    want = "8ea2b7ca516745bfeafc49904b496089"  # FIPS-197 C.3; one CBC block, zero IV = ECB
    assert hx(aes.soft_cbc_encrypt(key, bytes(16), pt)) == want
    assert aes.soft_cbc_decrypt(key, bytes(16), h(want)) == pt
    assert hx(aes.cbc_encrypt(key, bytes(16), pt)) == want


def test_aes_fallback_equals_cryptolib_both_ways():
    import os
    import cryptolib
    from crypto import aes
    for n in (0, 16, 32, 48, 160, 1024):
        k, iv, d = os.urandom(32), os.urandom(16), os.urandom(n)
        ct = cryptolib.aes(k, 2, iv).encrypt(d) if n else b""
        assert aes.soft_cbc_encrypt(k, iv, d) == ct, n
        assert aes.soft_cbc_decrypt(k, iv, ct) == d, n
        if n:
            assert cryptolib.aes(k, 2, iv).decrypt(aes.soft_cbc_encrypt(k, iv, d)) == d


def test_aes_module_uses_the_fallback_without_cryptolib():
    from crypto import aes
    saved = aes.cryptolib
    try:
        aes.cryptolib = None  # a port built without cryptolib
        k, iv, d = bytes(range(32)), bytes(range(16)), bytes(range(64))
        ct = aes.cbc_encrypt(k, iv, d)
        assert aes.cbc_decrypt(k, iv, ct) == d
    finally:
        aes.cryptolib = saved
    assert aes.cbc_encrypt(k, iv, d) == ct


def test_aes_refuses_bad_lengths():
    from crypto import aes
    for k, iv, d in ((bytes(16), bytes(16), bytes(16)), (bytes(32), bytes(8), bytes(16)),
                     (bytes(32), bytes(16), bytes(15))):
        for f in (aes.cbc_encrypt, aes.cbc_decrypt, aes.soft_cbc_encrypt, aes.soft_cbc_decrypt):
            try:
                f(k, iv, d)
            except ValueError as e:
                assert str(e).startswith("invalid")
                continue
            assert False, (f, len(k), len(iv), len(d))

# heap: 640K
# NIP-44 at 100000 bytes (listed invalid in the 2023 vector file, valid under the current
# NIP with the 6-byte prefix). Padded to 114688 bytes, the payload is 153012 base64
# characters: text (98 KB) + payload (149 KB) + nip44's one working buffer (112 KB).
# Measured: passes from 448K up (checked to 768K), fails at 416K; it failed once at 512K
# when the module layout changed, so 640K leaves a margin. fw_nip44_long.py says
# why no message of this size can fit a 128 KB heap.
# Its exact bytes are checked against an independent implementation in
# tests/test_nip44_cross.py; here: round trip, length and the extended prefix on device.
import gc
import binascii

from crypto import nip44
from crypto.chacha20 import chacha20_xor


def test_100000_bytes_round_trip_with_extended_prefix():
    ck = bytes(range(32))
    nonce = bytes(range(32, 64))
    text = "\u00e9" * 50000  # 100000 UTF-8 bytes, 50000 characters
    p = nip44.encrypt(text, ck, nonce)
    del text
    gc.collect()
    # decrypt first: small allocations made before it would land in the hole the text
    # left and split it, and the 100000-byte result needs a contiguous block
    back = nip44.decrypt(p, ck)
    assert len(back) == 50000 and back == "\u00e9" * 50000
    del back
    gc.collect()
    assert nip44.padded_len(100000) == 114688
    assert len(p) == (1 + 32 + 6 + 114688 + 32 + 2) // 3 * 4
    # the first ciphertext block, decrypted by hand, starts 0x0000 + u32 100000
    k, n, _ = nip44.message_keys(ck, nonce)
    head = binascii.a2b_base64(p[:132])[33:33 + 64]
    pt = chacha20_xor(k, n, head)
    assert pt[:6] == b"\x00\x00" + (100000).to_bytes(4, "big")
    assert pt[6:8] == "\u00e9".encode()

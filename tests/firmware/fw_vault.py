# keystore.vault on the unix port: the key at rest under a PIN, wrong PINs counted on
# flash before the check, the wipe after 10, and no corrupt store after a cut at any write.
import os
import time

from keystore import vault, store

SK = bytes(range(1, 33))
ITER = 2048
_n = [0]


def rng(n):
    return os.urandom(n)


def fresh_root():
    _n[0] += 1
    root = "/tmp/fw_vault_%d_%d" % (time.ticks_us() & 0xFFFFFF, _n[0])
    store.ensure_dir(root)
    return root


def test_right_pin_opens_the_vault():
    root = fresh_root()
    vault.protect(root, SK, "2468", ITER, rng)
    assert vault.unlock(root, "2468") == SK
    assert vault.tries_left(root) == 10


def test_the_key_is_not_on_flash_in_the_clear():
    root = fresh_root()
    vault.protect(root, SK, "2468", ITER, rng)
    raw = store.read(root, vault.VAULT)
    assert SK.hex().encode() not in raw and SK not in raw


def test_wrong_pin_is_counted_and_a_right_one_resets_the_count():
    root = fresh_root()
    vault.protect(root, SK, "2468", ITER, rng)
    try:
        vault.unlock(root, "1111")
        assert False
    except vault.WrongPin as e:
        assert e.left == 9
    assert vault.fails(root) == 1
    assert vault.unlock(root, "2468") == SK
    assert vault.fails(root) == 0


def test_ten_wrong_pins_wipe_the_key():
    root = fresh_root()
    vault.protect(root, SK, "2468", ITER, rng)
    for i in range(9):
        try:
            vault.unlock(root, "0000")
        except vault.WrongPin as e:
            assert e.left == 9 - i
    try:
        vault.unlock(root, "0000")
        assert False
    except vault.Wiped:
        pass
    assert not vault.exists(root)
    try:
        vault.unlock(root, "2468")  # even the right PIN is too late
        assert False
    except ValueError:
        pass


class PowerCut(Exception):
    pass


def test_a_power_cut_during_the_check_still_counts_the_guess():
    root = fresh_root()
    vault.protect(root, SK, "2468", ITER, rng)
    real = vault._keys

    def cut(*a, **k):
        raise PowerCut()
    vault._keys = cut
    try:
        vault.unlock(root, "1111")
        assert False
    except PowerCut:
        pass
    finally:
        vault._keys = real
    assert vault.fails(root) == 1  # the guess was on flash before the PIN was checked


def test_a_cut_at_any_write_leaves_the_old_or_the_new_vault():
    # count the writes a PIN change makes, then cut the power at each of them in turn
    writes = [0]
    real = store.write_atomic

    def counting(root, name, data):
        writes[0] += 1
        real(root, name, data)
    store.write_atomic = counting
    try:
        root = fresh_root()
        vault.protect(root, SK, "old", ITER, rng)
        writes[0] = 0
        vault.change_pin(root, "old", "new", ITER, rng)
        total = writes[0]
    finally:
        store.write_atomic = real
    assert total >= 3
    for cut_at in range(1, total + 1):
        root = fresh_root()
        vault.protect(root, SK, "old", ITER, rng)
        n = [0]

        def cutting(root_, name, data):
            n[0] += 1
            if n[0] == cut_at:
                if type(data) is list:  # store.write_json's pieces
                    data = "".join(data)
                # power lost mid-write: a half-written tmp file, the rename never happens
                with open(root_ + "/" + name + ".tmp", "wb") as f:
                    f.write(data[: len(data) // 2])
                raise PowerCut()
            real(root_, name, data)
        store.write_atomic = cutting
        try:
            vault.change_pin(root, "old", "new", ITER, rng)
        except PowerCut:
            pass
        finally:
            store.write_atomic = real
        opened = []
        for pin in ("old", "new"):
            try:
                opened.append(vault.unlock(root, pin))
            except vault.WrongPin:
                pass
        assert opened == [SK], (cut_at, opened)


def test_a_tampered_vault_is_a_wrong_pin_not_garbage():
    root = fresh_root()
    vault.protect(root, SK, "2468", ITER, rng)
    rec = store.read_json(root, vault.VAULT)
    ct = bytearray(bytes.fromhex(rec["ct"]))
    ct[0] ^= 1
    rec["ct"] = ct.hex()
    store.write_json(root, vault.VAULT, rec)
    try:
        vault.unlock(root, "2468")
        assert False
    except vault.WrongPin:
        pass


def test_iterations_are_calibrated_to_the_board():
    n = vault.calibrate(200, time.ticks_ms, time.ticks_diff)
    assert n >= vault.MIN_ITER
    t0 = time.ticks_ms()
    import hashlib
    hashlib.pbkdf2_hmac("sha512", b"1234", b"s" * 16, n, 64)
    took = time.ticks_diff(time.ticks_ms(), t0)
    assert 50 <= took <= 800, (n, took)


def test_too_few_iterations_are_refused():
    try:
        vault.protect(fresh_root(), SK, "2468", 100, rng)
        assert False
    except ValueError:
        pass


def test_one_vault_holds_every_identity_and_one_pin_opens_all():
    root = fresh_root()
    other = bytes(range(101, 133))
    sess = vault.session("2468", ITER, rng)
    vault.seal(root, [(0, SK, "aa" * 32), (3, other, "bb" * 32)], sess, rng)
    keys, s2 = vault.unlock_session(root, "2468")
    assert keys == [(0, SK), (3, other)]
    assert vault.open_all(root, s2) == keys  # the session opens it again, no PIN
    assert vault.pubs(root) == {0: "aa" * 32, 3: "bb" * 32}


def test_another_pins_session_does_not_open_the_vault():
    root = fresh_root()
    vault.seal(root, [(0, SK, None)], vault.session("2468", ITER, rng), rng)
    assert vault.open_all(root, vault.session("1357", ITER, rng)) is None


def test_swapping_which_identity_owns_a_key_is_tampering():
    root = fresh_root()
    vault.seal(root, [(0, SK, None), (1, bytes(32), None)], vault.session("2468", ITER, rng), rng)
    rec = store.read_json(root, vault.VAULT)
    rec["ids"] = [1, 0]
    store.write_json(root, vault.VAULT, rec)
    try:
        vault.unlock_session(root, "2468")
        assert False
    except vault.WrongPin:
        pass


def test_an_unreadable_count_is_the_worst_case_not_zero():
    root = fresh_root()
    vault.protect(root, SK, "2468", ITER, rng)
    store.write_atomic(root, vault.COUNTER, b"{garbage")
    assert vault.fails(root) == vault.MAX_FAILS - 1


def test_a_vault_zeroed_by_a_cut_wipe_is_no_vault():
    root = fresh_root()
    vault.protect(root, SK, "2468", ITER, rng)
    raw = store.read(root, vault.VAULT)
    with open(root + "/" + vault.VAULT, "wb") as f:
        f.write(bytes(len(raw)))
    assert not vault.exists(root)

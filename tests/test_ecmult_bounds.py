"""The lazy folds of crypto/ecmult.py's loops (docs/speed.md, "Lazy folds"): values there
are congruent mod p, not canonical, and only their bounds keep the products small and
the zero test of H (`H in zs`) exact. This runs the firmware's ecmult.py in CPython with
every product and every H recorded (an `ast` rewrite of the module's source), checks
results against libsecp256k1 (coincurve) and the recorded sizes against the bounds the
docs derive: every product under 2^590, H in (-2^256 - 2^147, 2^256 + 2^147)."""
import ast
import os
import random
import sys
import types

import coincurve
import pytest

from test_viper32 import twinned

HERE = os.path.dirname(os.path.abspath(__file__))
CRYPTO = os.path.join(os.path.dirname(HERE), "firmware", "crypto")
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SEEN = {"mul": 0, "h_lo": 0, "h_hi": 0, "h": 0}


def _mul(a, b):
    r = a * b
    if type(r) is int:
        SEEN["mul"] = max(SEEN["mul"], abs(r).bit_length())
    return r


def _h(v):
    SEEN["h"] += 1
    SEEN["h_lo"] = min(SEEN["h_lo"], v)
    SEEN["h_hi"] = max(SEEN["h_hi"], v)
    return v


class _Rec(ast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Mult):
            return ast.Call(func=ast.Name(id="_mul", ctx=ast.Load()), args=[node.left, node.right],
                            keywords=[])
        return node

    def visit_Assign(self, node):
        self.generic_visit(node)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "H":
            node.value = ast.Call(func=ast.Name(id="_h", ctx=ast.Load()), args=[node.value], keywords=[])
        return node


def _load(name, rewrite=False):
    with open(os.path.join(CRYPTO, name + ".py")) as f:
        tree = ast.parse(f.read())
    if rewrite:
        tree = ast.fix_missing_locations(_Rec().visit(tree))
    mod = types.ModuleType("crypto." + name)
    mod._mul, mod._h = _mul, _h
    exec(compile(tree, name, "exec"), mod.__dict__)
    return mod


def load_ecmult(rewrite=True, extra=(), then=None):
    """crypto/ecmult.py in CPython (the inversion's viper as its twin), with the modules
    named in extra loaded after it in the same package (they may import crypto.ecmult),
    and then(ecmult) called while that package is the one `crypto` names."""
    pkg = types.ModuleType("crypto")
    pkg.__path__ = []
    saved = {k: sys.modules.get(k) for k in ("crypto", "crypto.ecmult_table", "crypto.ecmult_table4",
                                            "crypto.modinv", "crypto.ecmult",
                                            *("crypto." + e for e in extra))}
    sys.modules["crypto"] = pkg
    try:
        t1 = _load("ecmult_table")
        t4 = _load("ecmult_table4")
        sys.modules["crypto.ecmult_table"] = t1
        sys.modules["crypto.ecmult_table4"] = t4
        # the inversion's viper steps as their 32-bit twin (tests/test_viper32.py)
        pkg.modinv = sys.modules["crypto.modinv"] = twinned("crypto/modinv.py")
        em = _load("ecmult", rewrite=rewrite)
        pkg.ecmult = sys.modules["crypto.ecmult"] = em
        for name in extra:
            mod = _load(name)
            setattr(em, name, mod)
            setattr(pkg, name, mod)
            sys.modules["crypto." + name] = mod
        if then is not None:
            then(em)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    em.layouts = {1: em._layout(t1.COMB, 1, 32), 4: em._layout(t4.COMB, 4, 8)}
    return em


@pytest.fixture(scope="module")
def em():
    return load_ecmult()


def _aff(em, j):
    X, Y, Z = j
    zi = em.inv(Z)
    return X * zi * zi % em.P, Y * zi * zi * zi % em.P


def _cc(k, pt=None):
    if pt is None:
        u = coincurve.PrivateKey(k.to_bytes(32, "big")).public_key
    else:
        u = coincurve.PublicKey(b"\x04" + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big"))
        u = u.multiply(k.to_bytes(32, "big"))
    f = u.format(compressed=False)
    return int.from_bytes(f[1:33], "big"), int.from_bytes(f[33:], "big")


def cc_sum(*pts):
    """The sum of affine points, by libsecp256k1."""
    keys = [coincurve.PublicKey(b"\x04" + p[0].to_bytes(32, "big") + p[1].to_bytes(32, "big")) for p in pts]
    f = coincurve.PublicKey.combine_keys(keys).format(compressed=False)
    return int.from_bytes(f[1:33], "big"), int.from_bytes(f[33:], "big")


def _scalars(rnd, n):
    edge = [1, 2, 3, N - 1, N - 2, (N - 1) // 2, 1 << 128, (1 << 128) - 1, 1 << 255,
            (1 << 256) - 1 - N, 0x5363AD4CC05C30E0A5261C028812645A122E22EA20816678DF02967C1B23BD72]
    return edge + [rnd.randrange(1, N) for _ in range(n)] + [
        rnd.getrandbits(rnd.choice((8, 64, 129, 200))) | 1 for _ in range(n // 4)]


@pytest.mark.parametrize("blocks", [1, 4])
def test_products_and_h_stay_in_their_bounds(em, blocks):
    rnd = random.Random(12 + blocks)
    em._comb = em.layouts[blocks]
    for k in _scalars(rnd, 60):
        assert _aff(em, em.base_mul(k)) == _cc(k), hex(k)
    for k in _scalars(rnd, 20):
        q = _cc(rnd.randrange(1, N))
        for bases in (1, 4, 8):  # 8: a hot key's where the heap has room (HOT_BASES)
            t = em.tables(q, bases)
            assert _aff(em, em.point_mul(t, k)) == _cc(k, q), hex(k)
            a = rnd.randrange(1, N)
            assert _aff(em, em.mul_add(a, k, t)) == cc_sum(_cc(a), _cc(k, q))
    # the same point added to itself in the loop (H == 0 mod p): a*G + b*G with G's tables
    g = em.G
    for tg in (em.tables(g, 4), em.tables(g, 8)):
        for a in (5, 1 << 70, N - 3):
            assert _aff(em, em.mul_add(a, a, tg)) == _cc(2 * a % N)
            assert em.mul_add(a, N - a, tg)[2] == 0       # a*G - a*G: infinity
    print(SEEN)
    assert SEEN["h"] > 1000
    assert SEEN["mul"] < 590
    assert -(1 << 256) - (1 << 147) < SEEN["h_lo"] and SEEN["h_hi"] < (1 << 256) + (1 << 147)


def _naf_textbook(k, w=5):
    # Guide to ECC, alg. 3.35: the width-w NAF, one bignum step a bit
    out, i = [], 0
    while k:
        if k & 1:
            d = k & ((1 << w) - 1)
            if d >= 1 << (w - 1):
                d -= 1 << w
            k -= d
            out.append((i, d))
        k >>= 1
        i += 1
    return out


def test_wnaf_is_the_textbook_width_5_naf(em):
    rnd = random.Random(41)
    ks = [0, 1, 2, 15, 16, 17, 31, 32, (1 << 128) - 1, 1 << 128, (1 << 129) - 1, (1 << 136) - 1,
          int("10" * 64, 2), int("01" * 64, 2)] + [rnd.getrandbits(rnd.choice((8, 64, 127, 128, 129)))
                                                  for _ in range(3000)]
    for k in ks:
        got = em.wnaf(k)
        assert got == _naf_textbook(k), hex(k)
        assert sum(d << i for i, d in got) == k
        assert all(d & 1 and -16 < d < 16 for _, d in got)
        assert all(b[0] - a[0] >= 5 for a, b in zip(got, got[1:]))

# Counters for the instrumented copy of the crypto core (bench/count.py writes it to
# build/count/; never part of the firmware). Every rewritten operation calls one of these:
# they classify it the way the chip's cost table does and then do the operation.
C = {}
_KEYS = ("loop", "call", "method", "builtin", "attr", "small", "index", "cmp", "big_add",
         "mul", "mul_w", "mod", "mod_w", "slice_bytes", "slice_mv", "from_bytes", "to_bytes",
         "sha_blocks", "sha_bytes", "divsteps", "pow", "allocs", "alloc_bytes",
         "fe_call", "fe_mul", "fe_add", "fe_sub", "fe_ld", "fe_zt", "fe_can", "fe_sqn", "fe_sq")
# crypto/fe_thumb.run's operations by code (tests/firmware/fe_model.py), counted per call
_FE = {1: "fe_mul", 2: "fe_add", 3: "fe_sub", 4: "fe_ld", 5: "fe_ld", 6: "fe_zt", 7: "fe_can",
       8: "fe_sqn", 9: "fe_sq"}
_off = [0]
_BIG = 1 << 30   # MicroPython small ints on a 32-bit port: 31 bits signed


def reset():
    for k in _KEYS:
        C[k] = 0


reset()


def _digits(x):
    # 16-bit mpz digits on the chip
    if x < 0:
        x = -x
    d = 0
    while x:
        x >>= 16
        d += 1
    return d or 1


def _alloc(r):
    if type(r) is int and (r >= _BIG or r < -_BIG):
        C["allocs"] += 1
        # mp_obj_int_t (16 B block) + the digit array in 16-byte blocks
        C["alloc_bytes"] += 16 + (2 * _digits(r) + 15) // 16 * 16


_OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "mod": lambda a, b: a % b, "div": lambda a, b: a // b, "shl": lambda a, b: a << b,
    "shr": lambda a, b: a >> b, "and": lambda a, b: a & b, "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b, "pow": lambda a, b: a ** b, "tdiv": lambda a, b: a / b,
}


def _kb(op, a, b):
    r = _OPS[op](a, b)
    if _off[0]:
        return r
    if type(a) is int and type(b) is int:
        ba = a >= _BIG or a < -_BIG
        bb = b >= _BIG or b < -_BIG
        br = type(r) is int and (r >= _BIG or r < -_BIG)
        if op == "mul" and ba and bb:
            C["mul"] += 1
            C["mul_w"] += _digits(a) * _digits(b) / 256
        elif op in ("mod", "div") and ba and bb:
            C["mod"] += 1
            da, db = _digits(a), _digits(b)
            C["mod_w"] += max(1, da - db) * db / 256
        elif ba or bb or br:
            C["big_add"] += 1
        else:
            C["small"] += 1
        _alloc(r)
    else:
        C["small"] += 1  # bytes/str concatenation or formatting: counted as one op
    return r


def _ku(op, a):
    r = -a if op == "neg" else ~a
    if not _off[0]:
        if type(a) is int and (a >= _BIG or a < -_BIG):
            C["big_add"] += 1
            _alloc(r)
        else:
            C["small"] += 1
    return r


def _kcmp(x):
    if not _off[0]:
        C["cmp"] += 1
    return x


def _ka(v):
    if not _off[0]:
        C["attr"] += 1
    return v


def _kidx(v):
    if not _off[0]:
        C["index"] += 1
    return v


def _kloop():
    if not _off[0]:
        C["loop"] += 1


def _kslice(v, lo, hi):
    if not _off[0]:
        if type(v) is memoryview:
            C["slice_mv"] += 1
        else:
            C["slice_bytes"] += 1
    return v[lo:hi]


def _blen(x):
    try:
        return len(x)
    except TypeError:
        return 0


def _kc(kind, f, *a, **kw):
    if _off[0]:
        return f(*a, **kw)
    if kind == "fe_call":
        # the native field code (on the chip, machine code; here its model): the
        # operations it ran are priced by their Cortex-M0+ cycles, not the model's Python
        import fe_model
        C["fe_call"] += 1
        ran = fe_model.COUNTS
        ran.clear()
        _off[0] += 1
        try:
            return f(*a, **kw)
        finally:
            _off[0] -= 1
            for op, n in ran.items():
                k = _FE.get(op)
                if k is not None:
                    C[k] += n
    if kind in ("divsteps", "pow"):
        # priced whole (pow measured on the chip, divsteps estimated): its inside is not counted
        C[kind] += 1
        _off[0] += 1
        try:
            r = f(*a, **kw)
        finally:
            _off[0] -= 1
        _alloc(r)
        return r
    if kind == "sha":
        C["method"] += 1
        C["sha_bytes"] += _blen(a[0]) if a else 0
    elif kind == "sha_update":
        C["method"] += 1
        if a and type(a[0]) in (bytes, bytearray, memoryview):
            C["sha_bytes"] += len(a[0])
    elif kind == "sha_digest":
        C["method"] += 1
        C["sha_blocks"] += 1
    else:
        C[kind] += 1
    r = f(*a, **kw)
    if kind == "from_bytes":
        _alloc(r)
    return r

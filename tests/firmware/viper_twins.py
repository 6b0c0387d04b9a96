# 32-bit twins of the firmware's @micropython.viper routines, for MicroPython and CPython.
#
# Why: a viper `int`/`uint` is a machine word, 64 bits on the x64 unix port the tests run
# on and 32 bits on the RP2040 and ESP32. Code that is right here can be wrong on the
# board (a packed result that needs bit 31, a product's high half, a shift by 32, a
# signed `>>` of a loaded word). A twin runs the routine's own source text under a model
# of a 32-bit port: every local that viper types as a machine word is an I32 or U32 whose
# every operation wraps to 32 bits, `int` is signed (`>>` arithmetic, comparisons signed),
# `uint` unsigned, pointer loads give an `int` (so a ptr32 word >= 2^31 reads negative),
# stores keep the low 8/16/32 bits. Deriving the twin from the source, not retyping it,
# means a twin cannot drift from the routine it checks.
#
# The model also refuses what is undefined or a compile error on a 32-bit port, so tests
# catch it: shifts by < 0 or >= 32 (ARM shifts by the low byte, Xtensa by 5 bits, x86 by
# 5 or 6), int/uint comparisons, a literal outside the 31-bit small-int range in an
# expression (viper makes it a Python object, micropython#9114), ptr16/ptr32 access off
# alignment (armv6m faults), and reads or writes outside the buffer.
import os

_M = 0xFFFFFFFF
_SMALL = 1 << 30


class ViperError(Exception):
    """What a 32-bit port would reject, fault on or leave undefined."""


def _const(x):
    if type(x) is not int:
        raise ViperError("operand %r is not a machine word" % (x,))
    if not -_SMALL <= x < _SMALL:
        raise ViperError("literal %d is a Python object in viper (micropython#9114)" % x)
    return x & _M


def _bits(b):
    return b.v if isinstance(b, _W) else _const(b)


def _amount(b):
    if isinstance(b, U32):
        n = b.v
    elif isinstance(b, _W):
        n = b.s()
    else:
        n = I32(_const(b)).s()
    if not 0 <= n < 32:
        raise ViperError("shift by %d is undefined on 32-bit ports" % n)
    return n


class _W:
    # one 32-bit machine word; .v is its bit pattern 0..2^32-1
    def __init__(self, v):
        self.v = v & _M

    def s(self):
        v = self.v
        return v - (1 << 32) if v & 0x80000000 else v

    def __add__(a, b):
        return type(a)(a.v + _bits(b))

    def __sub__(a, b):
        return type(a)(a.v - _bits(b))

    def __mul__(a, b):
        return type(a)(a.v * _bits(b))

    def __and__(a, b):
        return type(a)(a.v & _bits(b))

    def __or__(a, b):
        return type(a)(a.v | _bits(b))

    def __xor__(a, b):
        return type(a)(a.v ^ _bits(b))

    def __lshift__(a, b):
        return type(a)(a.v << _amount(b))

    # a literal on the left is a viper `int`, so the result is one too
    def __radd__(b, a):
        return I32(_const(a) + b.v)

    def __rsub__(b, a):
        return I32(_const(a) - b.v)

    def __rmul__(b, a):
        return I32(_const(a) * b.v)

    def __rand__(b, a):
        return I32(_const(a) & b.v)

    def __ror__(b, a):
        return I32(_const(a) | b.v)

    def __rxor__(b, a):
        return I32(_const(a) ^ b.v)

    def __rlshift__(b, a):
        return I32(_const(a) << _amount(b))

    def __rrshift__(b, a):
        return I32(I32(_const(a)).s() >> _amount(b))

    def __neg__(a):
        return type(a)(-a.v)

    def __invert__(a):
        return type(a)(~a.v)

    def __pos__(a):
        return a

    def __bool__(a):
        return a.v != 0

    def _cmp(a, b):
        # viper compares int with int (signed) and uint with uint (unsigned) only;
        # a literal is an int
        if isinstance(b, _W):
            if type(b) is not type(a):
                raise ViperError("comparison of int and uint")
            return (a.s(), b.s()) if type(a) is I32 else (a.v, b.v)
        if type(a) is not I32:
            raise ViperError("comparison of int and uint")
        return a.s(), I32(_const(b)).s()

    def __lt__(a, b):
        x, y = a._cmp(b)
        return x < y

    def __le__(a, b):
        x, y = a._cmp(b)
        return x <= y

    def __gt__(a, b):
        x, y = a._cmp(b)
        return x > y

    def __ge__(a, b):
        x, y = a._cmp(b)
        return x >= y

    def __eq__(a, b):
        x, y = a._cmp(b)
        return x == y

    def __ne__(a, b):
        x, y = a._cmp(b)
        return x != y

    __hash__ = None


class I32(_W):
    """viper `int` on a 32-bit port: signed."""

    def __rshift__(a, b):
        return I32(a.s() >> _amount(b))

    def __floordiv__(a, b):
        b = I32(_bits(b)).s()
        return I32(a.s() // b)

    def __mod__(a, b):
        b = I32(_bits(b)).s()
        return I32(a.s() % b)

    def __int__(a):
        return a.s()

    def __repr__(a):
        return "I32(%d)" % a.s()


class U32(_W):
    """viper `uint` on a 32-bit port: unsigned, `>>` logical."""

    def __rshift__(a, b):
        return U32(a.v >> _amount(b))

    def __int__(a):
        return a.v

    def __repr__(a):
        return "U32(0x%x)" % a.v


class _Addr:
    # uint(ptr): an address; only offsetting it and turning it back into a pointer
    # mean anything without a real memory map
    def __init__(self, mv, off):
        self.mv = mv
        self.off = off

    def __add__(a, b):
        return _Addr(a.mv, a.off + I32(_bits(b)).s())

    def __sub__(a, b):
        return _Addr(a.mv, a.off - I32(_bits(b)).s())


class _Ptr:
    SIZE = 1

    def __init__(self, obj):
        if isinstance(obj, (_Addr, _Ptr)):
            self.mv = obj.mv
            self.off = obj.off
        else:
            self.mv = memoryview(obj)
            if getattr(self.mv, "itemsize", 1) != 1:
                self.mv = self.mv.cast("B")  # an array('i'), in CPython: its bytes
            self.off = 0
        if self.off % self.SIZE:
            raise ViperError("ptr%d off alignment: armv6m faults" % (8 * self.SIZE))

    def _at(self, i):
        i = i.s() if isinstance(i, _W) else _const(i)
        if i >= 0x80000000:
            i -= 1 << 32
        a = self.off + i * self.SIZE
        if a < 0 or a + self.SIZE > len(self.mv):
            raise ViperError("ptr%d access at byte %d outside a %d-byte buffer"
                             % (8 * self.SIZE, a, len(self.mv)))
        return a

    def __getitem__(self, i):
        a = self._at(i)
        v = 0
        k = self.SIZE
        while k:
            k -= 1
            v = (v << 8) | self.mv[a + k]  # little-endian, as every target
        return I32(v)

    def __setitem__(self, i, x):
        a = self._at(i)
        if type(x) is bool:
            x = int(x)
        v = _bits(x)
        k = 0
        while k < self.SIZE:
            self.mv[a + k] = (v >> (8 * k)) & 0xFF
            k += 1


class Ptr8(_Ptr):
    SIZE = 1


class Ptr16(_Ptr):
    SIZE = 2


class Ptr32(_Ptr):
    SIZE = 4


def uint(x):
    if isinstance(x, _Ptr):
        return _Addr(x.mv, x.off)
    if isinstance(x, _W):
        return U32(x.v)
    return U32(int(x))  # a cast of an object truncates to the word


def int_(x):
    if isinstance(x, _W):
        return I32(x.v)
    return I32(int(x))


def _range(*a):
    # `for i in range(...)` over machine ints compiles to a counting loop on an int
    for x in range(*[I32(_bits(v)).s() for v in a]):
        yield I32(x)


_CASTS = {"int": I32, "uint": U32, "ptr8": Ptr8, "ptr16": Ptr16, "ptr32": Ptr32, "bool": bool}


def _arg(t, x):
    if t is None:
        return x  # an object argument stays an object
    if t in ("int", "uint"):
        return _CASTS[t](int(x))  # mp_obj_get_int_truncated
    return _CASTS[t](x)


def _ret(t, r):
    if t == "int":
        return r.s() if isinstance(r, _W) else r
    if t == "uint":
        return r.v if isinstance(r, _W) else r & _M
    if t == "bool":
        return bool(r)
    return r


def _indent(line):
    return len(line) - len(line.lstrip())


def _split_params(text):
    out = []
    depth = 0
    cur = ""
    for c in text:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur)
    return [p.strip() for p in out]


def _is_int_literal(s):
    s = s.strip()
    if s.startswith("-"):
        s = s[1:]
    if s.startswith("0x") or s.startswith("0X"):
        return len(s) > 2 and all(c in "0123456789abcdefABCDEF" for c in s[2:])
    return len(s) > 0 and all(c in "0123456789" for c in s)


def _is_name(s):
    for c in s:
        if not (c == "_" or "a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9"):
            return False
    return not ("0" <= s[0] <= "9")


def _type_local(line):
    # `name = <int literal>` gives the local viper's type, int: make it a machine word
    code = line.split("#")[0].rstrip()
    if code.lstrip().startswith("for ") and " in range(" in code:
        # by name, not the builtin: MicroPython's compiler would turn range() into a
        # loop on plain ints, which the model's words cannot be compared with
        return code.replace(" in range(", " in _range(", 1)
    if "=" not in code or ";" in code:
        return line
    lhs, rhs = code.split("=", 1)
    name = lhs.strip()
    if not name or lhs.rstrip()[-1:] in "+-*/%&|^<>!=" or not _is_name(name):
        return line
    if not _is_int_literal(rhs):
        return line
    return lhs + "= I32(" + rhs.strip() + ")"


def viper_routines(path):
    """Names of the @micropython.viper functions in the source file at path, in order."""
    with open(path) as f:
        lines = f.read().split("\n")
    out = []
    for k in range(len(lines) - 1):
        if lines[k].strip() == "@micropython.viper":
            out.append(lines[k + 1].strip()[4:].split("(")[0])
    return out


def source(path, name):
    """(header, parameter list [(name, type)], return type, body lines) of a viper routine."""
    with open(path) as f:
        lines = f.read().split("\n")
    k = 0
    while k < len(lines) - 1:
        if lines[k].strip() == "@micropython.viper" and lines[k + 1].strip().startswith("def " + name + "("):
            break
        k += 1
    else:
        raise ValueError("no viper routine %s in %s" % (name, path))
    k += 1
    base = _indent(lines[k])
    head = ""
    while True:
        head += lines[k].strip() + " "
        k += 1
        if head.count("(") == head.count(")") and head.rstrip().endswith(":"):
            break
    a = head.index("(")
    depth = 0
    z = a
    while True:
        if head[z] == "(":
            depth += 1
        elif head[z] == ")":
            depth -= 1
            if depth == 0:
                break
        z += 1
    params = []
    for p in _split_params(head[a + 1:z]):
        if ":" in p:
            n, t = p.split(":", 1)
            params.append((n.strip(), t.strip()))
        else:
            params.append((p, None))
    rest = head[z + 1:].strip()[:-1].strip()
    ret = rest[2:].strip() if rest.startswith("->") else None
    body = []
    while k < len(lines) and (not lines[k].strip() or _indent(lines[k]) > base):
        body.append(lines[k][base:] if lines[k].strip() else "")
        k += 1
    return params, ret, body


_cache = {}


def twin(path, name):
    """The routine `name` of the firmware source file at path, as a plain Python function
    running under the 32-bit model; called like the viper one, returns what it returns
    on a 32-bit port (or raises ViperError where a 32-bit port is undefined)."""
    key = (path, name)
    if key in _cache:
        return _cache[key]
    params, ret, body = source(path, name)
    src = "def %s(%s):\n" % (name, ", ".join(p[0] for p in params))
    src += "\n".join(_type_local(line) for line in body) + "\n"
    ns = {"uint": uint, "int": int_, "ptr8": Ptr8, "ptr16": Ptr16, "ptr32": Ptr32, "I32": I32,
          "_range": _range}
    exec(src, ns)
    raw = ns[name]
    types = [p[1] for p in params]

    def run(*args):
        if len(args) != len(types):
            raise TypeError("%s takes %d arguments" % (name, len(types)))
        return _ret(ret, raw(*[_arg(t, x) for t, x in zip(types, args)]))

    _cache[key] = run
    return run


def firmware_dir():
    # the tests run with the repository as the working directory (tests/mpy.py, conftest)
    return os.getenv("VIPER_SRC") or "firmware"


# every file of firmware/ with viper code: tests/test_viper32.py checks this list is
# complete, so a new viper routine cannot go unchecked
FILES = ("crypto/nip01.py", "crypto/chacha20.py", "crypto/sha512.py", "crypto/nip44.py",
         "crypto/jsonspan.py", "signer/envelope.py", "boards/st7789.py", "crypto/keyset.py",
         "crypto/modinv.py")


def fw_twin(rel, name):
    return twin(firmware_dir() + "/" + rel, name)

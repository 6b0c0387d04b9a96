# A stand-in for MicroPython's `machine` module, for running the board modules on the
# unix port: Pin, I2C, SPI and PWM record what the firmware does to them, and tests
# drive input pins. Only tests/firmware/fw_boards.py puts this directory on the path.
#
# - trace: a list of events in order: ("pin", id, level), ("i2c", addr, bytes),
#   ("spi", id, bytes), ("pwm", id, duty_u16). SPI/I2C writes longer than BULK bytes are
#   recorded as ("spi"|"i2c", id, (length, crc32)) so a frame push does not fill the heap.
# - listeners: functions f(kind, bus_or_addr, data) called on every bus write with the
#   raw buffer, for tests that model the panel's controller.
# - record: set False to keep only the listeners (tests that measure the heap).
# - set_level(id, level): what an input pin reads (buttons: 0 = pressed).
import binascii

BULK = 64
record = True
trace = []
listeners = []
_levels = {}
pins = {}


def reset_trace():
    trace.clear()


def set_level(pin_id, level):
    _levels[pin_id] = 1 if level else 0


def level(pin_id):
    return _levels.get(pin_id, 0)


def _record(kind, who, data):
    for f in listeners:
        f(kind, who, data)
    if not record:
        return
    if len(data) > BULK:
        trace.append((kind, who, (len(data), binascii.crc32(data))))
    else:
        trace.append((kind, who, bytes(data)))


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, pin_id, mode=-1, pull=-1, value=None):
        self.id = pin_id
        self.mode = mode
        self.pull = pull
        pins[pin_id] = self
        if value is not None:
            self.value(value)
        elif pin_id not in _levels:
            # an input floats to its pull; buttons on these boards idle high
            _levels[pin_id] = 0 if pull == Pin.PULL_DOWN else 1

    def value(self, v=None):
        if v is None:
            return _levels.get(self.id, 0)
        v = 1 if v else 0
        _levels[self.id] = v
        if record:
            trace.append(("pin", self.id, v))

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def init(self, mode=-1, pull=-1, value=None):
        self.mode = mode
        self.pull = pull
        if value is not None:
            self.value(value)


class I2C:
    def __init__(self, bus_id, scl=None, sda=None, freq=400000, timeout=50000):
        self.bus_id = bus_id
        self.scl = scl
        self.sda = sda
        self.freq = freq
        self.devices = (0x3C,)

    def scan(self):
        return list(self.devices)

    def _check(self, addr):
        if addr not in self.devices:
            raise OSError(19)  # ENODEV, as the ports raise on a NAK

    def writeto(self, addr, buf, stop=True):
        self._check(addr)
        _record("i2c", addr, buf)
        return 1

    def writevto(self, addr, vector, stop=True):
        # one transfer: the controller sees the parts back to back
        self._check(addr)
        data = bytearray()
        for part in vector:
            data.extend(part)
        _record("i2c", addr, data)
        return len(vector)


class SPI:
    MSB = 0

    def __init__(self, bus_id, baudrate=1000000, polarity=0, phase=0, bits=8, firstbit=0,
                 sck=None, mosi=None, miso=None):
        self.bus_id = bus_id
        self.baudrate = baudrate
        self.polarity = polarity
        self.phase = phase
        self.sck = sck
        self.mosi = mosi

    def write(self, buf):
        _record("spi", self.bus_id, buf)


class PWM:
    def __init__(self, pin, freq=1000, duty_u16=None):
        self.pin = pin
        self._freq = freq
        self._duty = 0
        if duty_u16 is not None:
            self.duty_u16(duty_u16)

    def duty_u16(self, v=None):
        if v is None:
            return self._duty
        self._duty = v
        trace.append(("pwm", self.pin.id, v))

    def freq(self, f=None):
        if f is None:
            return self._freq
        self._freq = f

    def deinit(self):
        pass


def unique_id():
    return b"\xe6\x61\x38\x52\x83\x3c\x2b\x24"


def freq(f=None):
    return 125000000


def reset():
    raise SystemExit("machine.reset()")

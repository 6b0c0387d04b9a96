"""hardware/ agrees with the firmware: pin tables and wiring-diagram labels match
firmware/boards/pins.py, the pins are ones the chips can use that way, the frozen-build
manifest covers the whole firmware and the same embit subset as the bundle, the bills of
materials add up, and the enclosure renders (when OpenSCAD is installed)."""
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import mpy

sys.path.insert(0, os.path.join(mpy.ROOT, "tools"))
import flash  # noqa: E402
import pintable  # noqa: E402

HW = os.path.join(mpy.ROOT, "hardware")
BOARDS = ("pico", "tdisplay")
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def pins():
    return pintable.load_pins()


@pytest.mark.parametrize("board", BOARDS)
def test_pin_table_is_generated_from_pins_py(board):
    old, new = pintable.rewrite(os.path.join(HW, board, "pins.md"), board)
    assert pintable.BEGIN in old and pintable.END in old
    assert old == new, "hardware/%s/pins.md is out of date: run python tools/pintable.py" % board


@pytest.mark.parametrize("board", BOARDS)
def test_wiring_svg_labels_match_pins_py(board, pins):
    root = ET.parse(os.path.join(HW, board, "wiring.svg")).getroot()
    labels = {}
    for el in root.iter(SVG_NS + "text"):
        sig = el.get("data-signal")
        if sig:
            assert sig not in labels, "signal %s labelled twice" % sig
            labels[sig] = "".join(el.itertext()).strip()
    want = [s[0] for s in pintable.signals(board, pins)]
    missing = [s for s in want if s not in labels]
    assert not missing, "%s/wiring.svg has no label for %s" % (board, missing)
    for sig in want:
        assert labels[sig] == pintable.label(board, sig, pins), sig
    if board == "pico":
        assert labels["OLED_ADDR"] == "I2C address 0x%02X" % pins.PICO_OLED_ADDR


def test_pico_pins_are_usable_as_wired(pins):
    # I2C pins belong to the I2C block the firmware opens
    assert pins.PICO_SDA in pintable.RP2040_I2C_SDA[pins.PICO_I2C_ID]
    assert pins.PICO_SCL in pintable.RP2040_I2C_SCL[pins.PICO_I2C_ID]
    used = [pins.PICO_SDA, pins.PICO_SCL, pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT]
    assert len(set(used)) == len(used)
    for g in used:
        assert 0 <= g <= 28 and g not in (23, 24, 25, 29)  # on the header, not SMPS/VBUS/LED
    assert pins.PICO_BTN_PULL  # no external resistors in the BOM


def test_tdisplay_pins_are_the_lilygo_wiring(pins):
    assert (pins.TD_MOSI, pins.TD_SCLK, pins.TD_CS, pins.TD_DC, pins.TD_RST, pins.TD_BL) == \
        (19, 18, 5, 16, 23, 4)
    assert {pins.TD_BTN_LEFT, pins.TD_BTN_RIGHT} == {0, 35}
    # GPIO34-39 are input-only without pull resistors: asking for one would be an error
    for pin, pull in ((pins.TD_BTN_LEFT, pins.TD_BTN_LEFT_PULL), (pins.TD_BTN_RIGHT, pins.TD_BTN_RIGHT_PULL)):
        if 34 <= pin <= 39:
            assert not pull
    # maintenance is entered with LEFT: GPIO0 held at reset would start the ROM bootloader
    assert pins.TD_BTN_LEFT != 0
    # the landscape window of the 135x240 panel in the ST7789's 240x320 RAM
    assert (pins.TD_MADCTL, pins.TD_XOFF, pins.TD_YOFF) in ((0x60, 40, 53), (0xA0, 40, 52))


class Recorder:
    def __init__(self, path):
        self.dir = os.path.dirname(path)
        self.modules = []   # (name, base)
        self.packages = []  # (name, files, base)
        self.includes = []

    def ns(self):
        return {
            "include": self.includes.append,
            "module": lambda name, base_path=".", opt=None: self.modules.append((name, base_path)),
            "package": lambda name, files=None, base_path=".", opt=None: self.packages.append((name, files, base_path)),
            "freeze": lambda *a, **k: pytest.fail("manifest uses freeze(); module()/package() are checked"),
            "require": lambda *a, **k: None,
            "metadata": lambda *a, **k: None,
            "options": type("O", (), {"get": lambda *a: None})(),
        }


def test_manifest_freezes_every_firmware_module_and_the_embit_subset():
    path = os.path.join(HW, "manifest.py")
    r = Recorder(path)
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), r.ns())
    assert r.includes == ["$(PORT_DIR)/boards/manifest.py"]
    frozen = set()
    for name, base in r.modules:
        src = os.path.normpath(os.path.join(r.dir, base, name))
        assert os.path.isfile(src), src
        frozen.add(os.path.relpath(src, flash.FIRMWARE).replace(os.sep, "/"))
    embit = None
    for name, files, base in r.packages:
        if name == "embit":
            embit = files
            continue
        d = os.path.normpath(os.path.join(r.dir, base, name))
        assert os.path.isdir(d) and files is None, name
        for root, dirs, names in os.walk(d):
            for n in names:
                if n.endswith(".py"):
                    frozen.add(os.path.relpath(os.path.join(root, n), flash.FIRMWARE).replace(os.sep, "/"))
    assert frozen == set(rel for rel, dev in flash.sources())
    assert embit == flash.EMBIT_FILES


def _money(s):
    m = re.search(r"([\d.]+)", s.replace("*", ""))
    return float(m.group(1)) if m else None


@pytest.mark.parametrize("board", BOARDS)
def test_bill_of_materials_adds_up(board):
    with open(os.path.join(HW, board, "bom.md")) as f:
        text = f.read()
    tables = re.findall(r"(\| item \|.*?)(?:\n\n|\Z)", text, re.S)
    assert tables
    for t in tables:
        rows = [[c.strip() for c in line.strip("|").split("|")] for line in t.splitlines()[2:]]
        items, total = rows[:-1], rows[-1]
        assert total[0] == "**total**"
        s = 0.0
        for item, part, qty, each, line_total in items:
            assert part, item  # a part number (or generic description) for every line
            assert abs(int(qty) * float(each) - float(line_total)) < 0.005, item
            s += float(line_total)
        assert abs(s - _money(total[4])) < 0.005, (board, s, total)


@pytest.mark.skipif(not shutil.which("openscad"), reason="OpenSCAD not installed")
@pytest.mark.parametrize("part", ["tray", "lid", "caps"])
def test_enclosure_renders(part, tmp_path):
    out = tmp_path / (part + ".stl")
    p = subprocess.run(["openscad", "-q", "-D", 'part="%s"' % part, "-o", str(out),
                        os.path.join(HW, "enclosure", "pico_case.scad")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and out.stat().st_size > 1000, p.stderr


def test_readme_links_exist():
    with open(os.path.join(HW, "README.md")) as f:
        text = f.read()
    for link in re.findall(r"\]\(([^)#:]+)\)", text):
        assert os.path.exists(os.path.join(HW, link)), link
    for board in BOARDS:
        for name in ("wiring.svg", "pins.md", "bom.md", "build.md"):
            assert os.path.exists(os.path.join(HW, board, name))

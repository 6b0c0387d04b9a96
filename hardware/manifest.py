# Freeze the signer into a custom MicroPython build (hardware/README.md, "Frozen build").
#
# Frozen modules run from flash instead of being loaded into RAM: the firmware's code
# and constant tables (the secp256k1 comb table, the BIP-39 wordlist) stop taking heap,
# which leaves more of it for large requests. The board then needs nothing on its
# filesystem but the keystore (/data).
#
#   cd micropython && make -C mpy-cross
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/repo/hardware/manifest.py
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/repo/hardware/manifest.py
#
# Paths are relative to this file. embit comes from the pinned release that
# `make install` links into .venv/mpylib. The board is chosen at boot by sys.platform
# (boards/__init__.py): rp2 -> pico, esp32 -> tdisplay.
include("$(PORT_DIR)/boards/manifest.py")

FIRMWARE = "../firmware"

# firmware/main.py frozen as main.py: the port runs a frozen main.py at boot
module("main.py", base_path=FIRMWARE)
module("app.py", base_path=FIRMWARE)
module("link.py", base_path=FIRMWARE)
for pkg in ("boards", "crypto", "keystore", "signer", "ui"):
    package(pkg, base_path=FIRMWARE)
# what embit imports under top-level names (firmware/lib), as /lib does on a board
for mod in ("hashlib.py", "hmac.py", "secp256k1.py"):
    module(mod, base_path=FIRMWARE + "/lib")

# The part of embit NIP-06 uses (the same list as tools/flash.py's EMBIT_FILES; its own
# BIP-39 wordlist is replaced at run time by keystore/wordlist.py).
package("embit", files=[
    "__init__.py", "base.py", "base58.py", "bip32.py", "bip39.py", "ec.py", "hashes.py",
    "misc.py", "networks.py", "util/__init__.py", "util/py_ripemd160.py",
    "util/secp256k1.py", "wordlists/__init__.py",
], base_path="../.venv/mpylib")

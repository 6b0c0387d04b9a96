# Test only, never part of the firmware: pulls the plug at a chosen write to flash.
# tests/test_keystore_*.py put this folder on the driver's path (fw_signer_driver.py
# imports _signer_test_preload before the app when there is one). Every atomic write
# (keystore/store.write_atomic) is counted on stderr ("write N name"); with
# KILL_AT_WRITE=N the Nth write leaves half its bytes in the temp file, as a power
# cut mid-write does, and the process is killed with SIGKILL before the rename.
import os
import sys
from keystore import store

_at = int(os.getenv("KILL_AT_WRITE") or 0)
_n = [0]
_real = store.write_atomic


def write_atomic(root, name, data):
    _n[0] += 1
    print("write %d %s" % (_n[0], name), file=sys.stderr)
    if _n[0] == _at:
        if type(data) is list:  # store.write_json's pieces
            data = "".join(data)
        with open(root + "/" + name + ".tmp", "wb") as f:
            f.write(data[:len(data) // 2])
        os.system("kill -9 $PPID")
        while True:  # the signal is on its way
            pass
    _real(root, name, data)


store.write_atomic = write_atomic

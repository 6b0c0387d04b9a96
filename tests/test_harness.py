"""The bridge between pytest and MicroPython works: calls, bytes and errors cross intact."""
from mpy import FirmwareError
import pytest


def test_rpc_returns_bytes_and_values(fw):
    assert fw.call("binascii", "unhexlify", "00ff10") == b"\x00\xff\x10"


def test_rpc_reports_firmware_exceptions_by_type(fw):
    with pytest.raises(FirmwareError) as e:
        fw.call("binascii", "unhexlify", "zz")
    assert e.value.type == "ValueError"

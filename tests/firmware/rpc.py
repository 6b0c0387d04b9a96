# MicroPython side of tests/mpy.py's Firmware: one JSON request per line on stdin,
# one JSON answer per line on stdout. Test-only; never part of the firmware image.
import sys
import json
import gc


def enc(v):
    if isinstance(v, (bytes, bytearray)):
        return {"b": bytes(v).hex()}
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    if isinstance(v, dict):
        return {"d": [[enc(k), enc(x)] for k, x in v.items()]}
    return v


def dec(v):
    if isinstance(v, dict):
        if "b" in v:
            return bytes.fromhex(v["b"])
        if "d" in v:
            return {dec(k): dec(x) for k, x in v["d"]}
    if isinstance(v, list):
        return [dec(x) for x in v]
    return v


modules = {}


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        try:
            req = json.loads(line)
            del line
            name = req["m"]
            mod = modules.get(name)
            if mod is None:
                mod = __import__(name)
                for part in name.split(".")[1:]:
                    mod = getattr(mod, part)
                modules[name] = mod
            r = {"r": enc(getattr(mod, req["f"])(*dec(req["a"])))}
        except Exception as e:
            r = {"e": type(e).__name__, "msg": str(e)}
        try:
            out = json.dumps(r)
        except MemoryError:
            out = json.dumps({"e": "MemoryError", "msg": "answer too large for the heap"})
        del r
        sys.stdout.write(out)
        sys.stdout.write("\n")
        del out
        gc.collect()


main()

# Runs one firmware test file's test_* functions on MicroPython and reports each one,
# so that pytest (tests/conftest.py) shows every firmware check as its own item.
# Usage: micropython runner.py MODULE [TEST ...]
import sys
import io
import gc

MARK = "@@FWTEST"


def main():
    modname = sys.argv[1]
    wanted = sys.argv[2:]
    mod = __import__(modname)
    names = wanted or sorted(n for n in dir(mod) if n.startswith("test_"))
    for name in names:
        gc.collect()
        buf = io.StringIO()
        try:
            getattr(mod, name)()
            ok = True
        except Exception as e:
            ok = False
            sys.print_exception(e, buf)
        msg = buf.getvalue().replace("\n", "\\n")
        print("%s %s %s %s" % (MARK, "PASS" if ok else "FAIL", name, msg))


main()

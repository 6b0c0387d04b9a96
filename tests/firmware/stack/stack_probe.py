# Run by tests/test_simstack.py as an entry (`-m boards.simstack stack_probe MODE`, or
# through the ROM bootstrap): what the firmware's thread sees.
import gc
import sys
import micropython
import boards  # noqa: F401 (as main.py does: its heap is the firmware's, not the harness's)

_n = [0]


def _f():
    _n[0] += 1
    _f()


def _chain(d):
    # d nested calls, then an import of modules that import modules (stack_m3 -> m0)
    if d:
        return _chain(d - 1)
    import stack_m3
    return stack_m3.X


def main():
    mode = sys.argv[-1]
    if mode == "free":
        gc.collect()
        print("free", gc.mem_free())
    elif mode == "depth":
        try:
            _f()
        except RuntimeError:
            pass
        print("depth", _n[0])
    elif mode == "import":
        print("import", _chain(20))
    elif mode == "use":
        print("use", micropython.stack_use())


if __name__ == "__main__":
    main()

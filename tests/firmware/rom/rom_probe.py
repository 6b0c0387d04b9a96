# Run by tests/test_rom.py through the ROM bootstrap (or from the filesystem): imports
# the app and reports where its code came from and what the heap holds afterwards.
import gc
import sys

gc.collect()
before = gc.mem_alloc()
import app  # noqa: E402
import link  # noqa: E402
gc.collect()
print("%s|%s|%d" % (sys.modules["app"].__file__, sys.path[0], gc.mem_alloc() - before))

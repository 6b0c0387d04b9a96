# Run by tests/test_speed_estimate.py through the ROM bootstrap or from the filesystem:
# which comb for G crypto.ecmult picks (at its import), what the import leaves on the
# heap, and a k*G with it.
import gc

gc.collect()
before = gc.mem_alloc()
from crypto import ecmult  # noqa: E402

gc.collect()
size = gc.mem_alloc() - before
cb = ecmult.comb()
x, y, z = ecmult.base_mul(3)
zi = ecmult.inv(z)
print("%d|%d|%x" % (cb[1], size, x * zi * zi % ecmult.P))

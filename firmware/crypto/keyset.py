# Sets of 32-byte keys (pubkeys) sorted in place in a fixed buffer: no object per key,
# no memory, no recursion (ui/kinds_follows.py's follow-list diff).
#
# Machine code, and resident once imported: on the unix port every import of a module
# with viper code records its code's pages in a heap block that is never freed, so it
# is not in ui/kinds_follows.py, which is loaded for each kind-3 prompt and dropped.
# Like every viper routine here it gives the same result with 32- and 64-bit words
# (tests/firmware/fw_viper32.py runs it against its 32-bit twin).
import micropython


@micropython.viper
def sort_keys(buf, n: int) -> int:
    # the n 32-byte records of buf sorted in place (heapsort: no memory, no recursion),
    # then the repeats dropped -> how many are left, at the front
    b = ptr8(buf)
    start = n // 2
    end = n
    while end > 1:
        if start > 0:
            start -= 1
        else:
            end -= 1
            k = 0
            while k < 32:  # the largest goes to the end
                t = b[k]
                b[k] = b[end * 32 + k]
                b[end * 32 + k] = t
                k += 1
        root = start
        while True:  # sift root down
            child = 2 * root + 1
            if child >= end:
                break
            if child + 1 < end:
                p = child * 32
                k = 0
                while k < 32 and b[p + k] == b[p + 32 + k]:
                    k += 1
                if k < 32 and b[p + k] < b[p + 32 + k]:
                    child += 1
            p = root * 32
            q = child * 32
            k = 0
            while k < 32 and b[p + k] == b[q + k]:
                k += 1
            if k == 32 or b[p + k] > b[q + k]:
                break
            k = 0
            while k < 32:
                t = b[p + k]
                b[p + k] = b[q + k]
                b[q + k] = t
                k += 1
            root = child
    j = 0
    i = 0
    while i < n:
        k = 0  # 32: the same key as the last one kept
        if j > 0:
            while k < 32 and b[i * 32 + k] == b[j * 32 - 32 + k]:
                k += 1
        if k < 32:
            if i != j:
                k = 0
                while k < 32:
                    b[j * 32 + k] = b[i * 32 + k]
                    k += 1
            j += 1
        i += 1
    return j

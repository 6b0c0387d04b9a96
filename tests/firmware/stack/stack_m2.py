from stack_m1 import X  # noqa: F401 (a nested import)

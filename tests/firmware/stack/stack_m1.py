from stack_m0 import X  # noqa: F401 (a nested import)

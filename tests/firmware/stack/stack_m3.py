from stack_m2 import X  # noqa: F401 (a nested import)

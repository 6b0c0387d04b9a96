"""The firmware's layers import only from below them: crypto (pure functions), keystore,
signer (NIP-46, no hardware), ui (screens), app, main; boards and link stand beside,
knowing only crypto. Every import counts, a function's own ones too: signer/requests.py
once imported app (which imports it), a circle."""
import ast
import os

import mpy

LAYER = {"crypto": 0, "lib": 1, "keystore": 1, "signer": 2, "ui": 3, "app": 4, "main": 5}
BESIDE = {"boards": {"crypto"}, "link": set()}


def _imports():
    out = {}
    for d, _, files in os.walk(mpy.FIRMWARE):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, mpy.FIRMWARE)[:-3].replace(os.sep, ".")
            with open(path) as fh:
                tree = ast.parse(fh.read())
            deps = set()
            for n in ast.walk(tree):
                if isinstance(n, ast.Import):
                    deps |= {a.name.split(".")[0] for a in n.names}
                elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
                    deps.add(n.module.split(".")[0])
            out[rel] = deps & (set(LAYER) | set(BESIDE))
    return out


def test_each_layer_imports_only_from_below_it():
    wrong = []
    for mod, deps in sorted(_imports().items()):
        top = mod.split(".")[0]
        for dep in deps - {top}:
            if top in BESIDE:
                ok = dep in BESIDE[top]
            elif dep in BESIDE:
                ok = top == "main"      # main wires the board and the link to the app
            else:
                ok = LAYER[dep] < LAYER[top]
            if not ok:
                wrong.append("%s imports %s" % (mod, dep))
    assert not wrong, wrong


def test_nothing_below_main_imports_app():
    users = sorted(m for m, deps in _imports().items() if "app" in deps and m != "main")
    assert users == [], users


def test_no_module_reaches_the_app_through_sys_modules():
    # ui/menu.py and ui/setup.py once did (sys.modules["app"]._drop): the app's loader
    # reaches them through signer/requests (requests.lazy, requests.drop), set by app
    found = []
    for d, _, files in os.walk(mpy.FIRMWARE):
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(d, f)) as fh:
                    if 'modules["app"]' in fh.read():
                        found.append(f)
    assert found == [], found

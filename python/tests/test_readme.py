# SPDX-License-Identifier: MIT
"""The examples of python/README.md and of the Python section of README.md
run as written (so that they cannot rot)."""
import asyncio
import os
import re

import pytest

import shmring
from shmring import Ring

from conftest import PKG_ROOT, TREE


def blocks(path):
    return re.findall(r"```python\n(.*?)```", open(path).read(), re.S)


def test_python_readme_examples(name, capsys):
    code = blocks(os.path.join(PKG_ROOT, "README.md"))
    assert len(code) == 5
    exec(code[0].replace('"/frames"', repr(name)), {})   # producer, then consumer
    assert capsys.readouterr().out.splitlines()[-1] == "b'frame 999'"
    with Ring.create(name, slots=4, slot_size=64, role="both") as ring:
        ns = {"ring": ring, "batch": [b"a", b"b"]}
        exec(code[1], ns)                                 # bursts
        assert ns["msgs"] == [b"a", b"b"]
    Ring.unlink(name)
    with Ring.create(name, slots=2, slot_size=480 * 640, role="both") as ring:
        ns = {"ring": ring}
        exec(code[2], ns)                                 # numpy zero-copy
        assert ns["total"] == 7 * 480 * 640
    Ring.unlink(name)
    exec(code[3].replace('"/ticks"', repr(name)), {})    # broadcast
    assert capsys.readouterr().out == "[b'tick', b'tick', b'tick'] [1, 1, 1]\n"
    got = []

    async def handle(msg):
        got.append(msg)

    ns = {"shmring": shmring, "handle": handle}
    exec(code[4], ns)                                     # asyncio consumer
    with Ring.create(name, slots=4, slot_size=16, role="producer") as p:
        async def produce_then_consume():
            task = asyncio.ensure_future(ns["consume"](name))
            for i in range(10):
                await p.send_async(b"%d" % i)
            p.shutdown()
            await task
        asyncio.run(asyncio.wait_for(produce_then_consume(), 20))
    assert got == [b"%d" % i for i in range(10)]


def test_top_readme_example(name, capsys):
    text = open(os.path.join(TREE, "README.md")).read()
    section = text[text.index("\n## Python\n"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(code.replace('"/demo-py"', repr(name)), {})
    assert capsys.readouterr().out == "b'hello'\n"


def test_readme_test_count(request):
    """python/README.md says how many tests there are: the number this
    session collected, when it runs the whole suite (make test-python)."""
    session = request.session
    here = os.path.dirname(os.path.abspath(__file__))
    files = {os.path.basename(str(item.fspath)) for item in session.items}
    every = {f for f in os.listdir(here) if f.startswith("test_") and f.endswith(".py")}
    opt = request.config.option
    if files != every or opt.keyword or opt.markexpr or getattr(opt, "deselect", None) \
            or getattr(opt, "lf", False) or getattr(opt, "failedfirst", False):
        pytest.skip("the count is checked when the whole suite runs")
    m = re.search(r"The tests \((\d+), ", open(os.path.join(PKG_ROOT, "README.md")).read())
    assert m and int(m.group(1)) == len(session.items), \
        f"python/README.md says {m and m.group(1)} tests; there are {len(session.items)}"

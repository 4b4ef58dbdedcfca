# SPDX-License-Identifier: MIT
"""Shared fixtures: unique ring names (removed afterwards), the CLI, and a
way to run Python code in an unrelated process."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)                 # python/
TREE = os.path.dirname(PKG_ROOT)                 # the source tree
sys.path.insert(0, PKG_ROOT)

import shmring  # noqa: E402

_seq = itertools.count()


def _cleanup(name: str) -> None:
    try:
        shmring.unlink(name)
    except FileNotFoundError:
        pass


@pytest.fixture
def name():
    """A fresh shm name, unlinked after the test."""
    n = f"/pytest-{os.getpid()}-{next(_seq)}"
    yield n
    _cleanup(n)


@pytest.fixture
def cli() -> str:
    """The shmring command-line tool of this tree (SHMRING_CLI overrides)."""
    path = os.environ.get("SHMRING_CLI", os.path.join(TREE, "build", "shmring"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"the shmring CLI is missing at {path}: run make (or set SHMRING_CLI)")
    return path


def child_env() -> dict:
    """The environment for a separate Python process that imports the same
    package and library as this one."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["SHMRING_LIB"] = shmring.library_path
    return env


def run_python(code: str, *args: str, timeout: float = 20, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], env=child_env(),
                          capture_output=True, timeout=timeout, **kw)


def spawn_python(code: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], env=child_env(), **kw)

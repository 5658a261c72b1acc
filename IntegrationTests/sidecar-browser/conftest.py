# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The browser test through nginx: the processes behind one public origin, and a headless Chromium.

Started here, on free loopback ports: the demo (page and token endpoint; KEYBOUND_DEMO, else the Integrations/ debug
build's keybound-demo), the application (app.py), keybound-serve (KEYBOUND_SERVE, else the same build's) with
serve.toml.in, and nginx (NGINX, else /usr/sbin/nginx) with nginx.conf.in. Every one is required: a missing binary
fails the test, never skips it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SIDECAR = HERE.parent / "sidecar"
sys.path.insert(0, str(HERE.parent / "browser"))
sys.path.insert(0, str(SIDECAR))
from demo_page import chromium  # noqa: E402
from test_sidecar import Stack, fill, free_port  # noqa: E402


def binary(variable: str, product: str) -> str:
    path = os.environ.get(variable)
    if not path:
        bin_path = subprocess.run(["swift", "build", "--package-path", str(HERE.parents[1] / "Integrations"),
                                   "--show-bin-path"], capture_output=True, text=True, check=True).stdout.strip()
        path = os.path.join(bin_path, product)
    if not os.access(path, os.X_OK):
        pytest.fail(f"no {path}: build it (swift build --package-path Integrations --product {product}) or set "
                    f"{variable}")
    return path


class Origin:
    """nginx at `url`, keybound-serve and the application behind it for /api/, the demo for the rest."""

    def __init__(self, work: Path):
        self.work = work
        self.procs: list[subprocess.Popen] = []
        self.ports = {name: free_port() for name in ("demo", "app", "serve", "nginx")}
        self.url = f"http://127.0.0.1:{self.ports['nginx']}"

    # Starting a process and waiting for its port, and stopping them all: as the nginx tests' stack does.
    start = Stack.start
    down = Stack.down

    def up(self) -> None:
        p = self.ports
        demo = binary("KEYBOUND_DEMO", "keybound-demo")
        serve = binary("KEYBOUND_SERVE", "keybound-serve")
        nginx = os.environ.get("NGINX", "/usr/sbin/nginx")
        # The demo's issuer, audience and htu base are the public origin, nginx's.
        self.start("demo", [demo, "--port", str(p["demo"]), "--base-url", self.url], p["demo"])
        self.start("app", [sys.executable, str(HERE / "app.py"), str(p["app"])], p["app"])
        config = self.work / "serve.toml"
        config.write_text(fill(HERE / "serve.toml.in", SERVE_PORT=p["serve"], ORIGIN=self.url, DEMO_PORT=p["demo"]))
        check = subprocess.run([serve, "--check", str(config)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.start("keybound-serve", [serve, str(config)], p["serve"])
        (self.work / "tmp").mkdir(exist_ok=True)
        conf = self.work / "nginx.conf"
        conf.write_text(fill(HERE / "nginx.conf.in", WORK=self.work, CONF=SIDECAR / "nginx", SERVE_PORT=p["serve"],
                             APP_PORT=p["app"], DEMO_PORT=p["demo"], NGINX_PORT=p["nginx"]))
        test = subprocess.run([nginx, "-t", "-q", "-p", str(self.work), "-c", str(conf)], capture_output=True,
                              text=True)
        assert test.returncode == 0, test.stderr
        self.start("nginx", [nginx, "-p", str(self.work), "-c", str(conf)], p["nginx"])

    def log(self, name: str) -> str:
        return (self.work / f"{name}.log").read_text()


@pytest.fixture(scope="session")
def origin(request, tmp_path_factory):
    started = Origin(tmp_path_factory.mktemp("sidecar-browser"))
    request.addfinalizer(started.down)
    started.up()
    return started


@pytest.fixture
def driver(monkeypatch):
    """A fresh headless Chromium (new profile, so a new IndexedDB), offline (demo_page.chromium)."""
    yield from chromium(monkeypatch)

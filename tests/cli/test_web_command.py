"""`hwb-agent web` (issue 13): serves the console with waitress on web.listen, and refuses a
non-loopback address unless allowed (the console speaks plain HTTP: TLS goes in front)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from agent.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, listen: str, **web) -> Path:
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["directory"]["state_file"] = str(tmp_path / "state.json")
    data["logging"]["audit_file"] = str(tmp_path / "audit.jsonl")
    data["web"].update({"listen": listen, **web})
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_public_listen_address_is_refused_without_allow_non_loopback(tmp_path, capsys):
    path = _config(tmp_path, "0.0.0.0:8080")
    assert main(["--config", str(path), "web"]) == 2
    assert "web.listen" in capsys.readouterr().err


def test_hwb_agent_web_serves_the_console_on_the_demo(tmp_path):
    port = _free_port()
    path = _config(tmp_path, f"127.0.0.1:{port}")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", "import sys; from agent.cli import main; "
                               "sys.exit(main(sys.argv[1:]))", "--config", str(path), "web"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    assert response.read() == b"ok\n"
                    assert response.headers["Server"] == "hwb-agent"
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "the console did not start"
                time.sleep(0.2)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{base}/sign-in", timeout=10).read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "uid": "admin.cardiff",
                                       "password": "demo-password"}).encode()
        home = opener.open(f"{base}/sign-in", data=form, timeout=30)
        text = home.read().decode()
        assert home.url == f"{base}/" and "<h1>User Management</h1>" in text
        listing = opener.open(f"{base}/accounts?active=N", timeout=30).read().decode()
        assert "Manage Local Authority Non-MIS accounts" in listing and "View Details" in listing
    finally:
        server.terminate()
        server.wait(timeout=20)
        server.stdout.close()

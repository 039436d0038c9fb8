"""`OpenAICompatModel`: a language model answered by an OpenAI-compatible HTTP server.

The server runs beside the product on the board (llama.cpp's `llama-server`, Ollama's `/v1` API,
vLLM), so the weights live in another process: a crash or an out-of-memory kill there costs the
LLM stage only, and the product keeps working without it.

Schema-constrained answers are asked for with `response_format` of type `json_schema`.
llama-server turns the schema into a grammar and vLLM into guided decoding; Ollama honours it
from 0.5 on (as its `format` grammar). `strict` is sent for servers that want it; the local
servers do not need it. A server that ignores `response_format` answers free text, which the
caller's JSON parser then rejects.

Prompts quote the transcript, so no message or log line here carries request or response text.
"""

from __future__ import annotations

import logging
import re
import time
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from tccc.errors import LlmError
from tccc.llm.model import Completion, Options

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 60.0
SCHEMA_NAME = "tccc"
"""The `json_schema.name` sent with a schema (OpenAI requires one; local servers ignore it)."""

_MAX_NAMED = 8
"""How many served model ids an error message lists."""

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
"""What a server's error `type` must look like to be repeated (free text could echo a prompt)."""


class OpenAICompatModel:
    """A `LanguageModel` whose chat is `POST {base_url}/chat/completions` on a separate server."""

    def __init__(
        self,
        base_url: str,
        model_id: str = "",
        *,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """A client for `base_url` (e.g. http://127.0.0.1:8080/v1); `open` also checks it."""
        base = base_url.strip().rstrip("/")
        if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
            raise LlmError(
                "the language-model server URL must start with http:// or https://",
                code="llm_bad_config",
            )
        if timeout_s <= 0:
            raise LlmError("the language-model timeout must be positive", code="llm_bad_config")
        self._base_url = base
        self._model_id = model_id
        self.timeout_s = timeout_s
        self._where = _without_userinfo(base)
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # trust_env=False: prompts carry patient data, and a proxy set in the environment for
        # something else must not carry them off the board.
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout_s), trust_env=False
        )

    @classmethod
    def open(
        cls,
        base_url: str,
        model_id: str | None = None,
        *,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> OpenAICompatModel:
        """The model `model_id` on the server, checked now (reachable, model served)."""
        model = cls(base_url, model_id or "", api_key=api_key, timeout_s=timeout_s)
        try:
            model._model_id = pick_model(model._model_id, model.served_models(), model._where)
        except BaseException:
            model.close()
            raise
        _LOGGER.info("language model %s served at %s", model._model_id, model._where)
        return model

    @property
    def name(self) -> str:
        """The model id, as the server names it."""
        return self._model_id

    @property
    def identity(self) -> str:
        """Server URL and model id: what the cache keys on."""
        return f"{self._base_url}#{self._model_id}"

    @property
    def base_url(self) -> str:
        """The API root, without a trailing slash."""
        return self._base_url

    def served_models(self) -> list[str] | None:
        """The model ids `GET /models` lists (None: the answer is not an OpenAI model list)."""
        payload = self._request("GET", "models", "model list", None)
        if not isinstance(payload, dict):
            raise self._fail("model list", "answered something other than a JSON object")
        data = payload.get("data")
        if not isinstance(data, list):
            return None
        return [str(entry["id"]) for entry in data if isinstance(entry, dict) and "id" in entry]

    def chat(self, messages: list[dict[str, str]], options: Options) -> Completion:
        """One chat completion (blocking; the client is thread-safe, the server queues)."""
        body: dict[str, Any] = {
            "model": self._model_id,
            "messages": messages,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "stream": False,
        }
        if options.schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": options.schema, "strict": True},
            }
        started = time.perf_counter()
        payload = self._request("POST", "chat/completions", "chat", body)
        seconds = time.perf_counter() - started
        text = _content(payload)
        if text is None:
            raise self._fail("chat", "answered without choices[0].message.content")
        usage = payload.get("usage") if isinstance(payload, dict) else None
        return Completion(
            text=text,
            prompt_tokens=_count(usage, "prompt_tokens"),
            completion_tokens=_count(usage, "completion_tokens"),
            seconds=seconds,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> OpenAICompatModel:
        """The model itself; `close` on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the connection pool."""
        self.close()

    def _request(self, method: str, path: str, what: str, body: dict[str, Any] | None) -> Any:
        """The parsed JSON answer to `method {base_url}/{path}`, or an LlmError."""
        try:
            response = self._client.request(method, f"{self._base_url}/{path}", json=body)
        except httpx.TimeoutException as exc:
            raise self._fail(
                what, f"did not answer within {self.timeout_s:g} s", "llm_timeout"
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # Transport errors describe the socket ("Connection refused"), never the request body.
            reason = str(exc) or type(exc).__name__
            raise self._fail(what, f"cannot be reached ({reason})", "llm_unavailable") from exc
        if response.status_code in (401, 403):
            raise self._fail(
                what,
                f"refused the request (HTTP {response.status_code}; check the API key)",
                "llm_refused",
            )
        if not response.is_success:
            status = f"HTTP {response.status_code}{_error_type(response)}"
            raise self._fail(what, f"answered {status}", "llm_http_error")
        try:
            return response.json()
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both are
            raise self._fail(what, "answered malformed JSON") from exc

    def _fail(self, what: str, problem: str, code: str = "llm_bad_response") -> LlmError:
        """An LlmError naming the server and the call, never the request or answer text."""
        message = f"language-model server {self._where} ({what}) {problem}"
        _LOGGER.debug("%s", message)
        return LlmError(message, code=code)


def pick_model(wanted: str, served: list[str] | None, where: str) -> str:
    """The model id to use: `wanted` if served, else the only one served; or an LlmError."""
    if served is None:
        if wanted:
            return wanted
        raise LlmError(
            f"language-model server {where} does not list its models: give the model id",
            code="llm_model_not_found",
        )
    if not wanted:
        if len(served) == 1:
            return served[0]
        raise LlmError(
            f"language-model server {where} serves {_listing(served)}: give the model id",
            code="llm_model_not_found",
        )
    if wanted in served:
        return wanted
    # Ollama lists an untagged model as `name:latest` and answers to either name.
    if ":" not in wanted and f"{wanted}:latest" in served:
        return f"{wanted}:latest"
    raise LlmError(
        f"language-model server {where} does not serve model {wanted!r} "
        f"(it serves {_listing(served)})",
        code="llm_model_not_found",
    )


def _listing(served: list[str]) -> str:
    """'no models', or up to `_MAX_NAMED` model ids and how many more."""
    if not served:
        return "no models"
    named = ", ".join(repr(m) for m in served[:_MAX_NAMED])
    more = len(served) - _MAX_NAMED
    return f"{named} and {more} more" if more > 0 else named


def _content(payload: Any) -> str | None:
    """`choices[0].message.content` ('' when null, as for an empty answer), or None if absent."""
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    if content is None:
        return ""
    return content if isinstance(content, str) else None


def _count(usage: Any, key: str) -> int:
    """A token count from `usage` (0 when the server does not report it)."""
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _error_type(response: httpx.Response) -> str:
    """'; <type>' from an OpenAI error body when it is an identifier, else ''."""
    try:
        payload = response.json()
    except ValueError:
        return ""
    error = payload.get("error") if isinstance(payload, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return f"; {kind}" if isinstance(kind, str) and _IDENTIFIER.fullmatch(kind) else ""


def _without_userinfo(url: str) -> str:
    """`url` without any user:password@ part, for messages."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))

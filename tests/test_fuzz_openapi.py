"""A schemathesis run of the server's own OpenAPI schema against a real `tccc serve` (issue 16).

Every operation in `/openapi.json` gets generated requests, valid by the schema and invalid,
with a fixed seed and a bounded number of examples, and every answer is checked: no 5xx, the
status code, content type, headers and body are the ones the schema documents, and invalid
input is rejected. Then: no traceback in the log, bounded memory, and a real client is still
transcribed. The operator's runtime actions run too (unloading the speech model is a
documented 503 for a while); the speech model is loaded again before the real client.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx
import psutil
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

if TYPE_CHECKING:
    from conftest import Server, ServerFactory, SpeechData

pytestmark = pytest.mark.e2e

SEED = 16
"""Hypothesis seed: the same requests on every run."""
EXAMPLES = 60
"""Generated requests per operation and mode (valid, invalid)."""
MAX_RSS_GROWTH_MB = 200.0
SHORT = "ls_1089-134691-0000.flac"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def fuzz_server(server_factory: ServerFactory) -> Server:
    """The server both fuzzers use (see test_fuzz_wyoming.py)."""
    return server_factory("--no-llm", env={"TCCC_SERVER_IDLE_TIMEOUT_S": "5"})


def test_schemathesis_finds_nothing(fuzz_server: Server, speech: SpeechData) -> None:
    """Every operation, EXAMPLES valid and EXAMPLES invalid requests each, seed SEED."""
    server = fuzz_server
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", timeout=30)
    process = psutil.Process(server.process.pid)
    rss_before = process.memory_info().rss / 2**20
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12, [op.label for op in operations]
    failures: list[str] = []
    requests = 0
    statuses: dict[int, int] = {}
    started = time.monotonic()

    def exercise(operation: Any, mode: GenerationMode) -> None:
        @seed(SEED)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            nonlocal requests
            response = case.call(base_url=server.base_url, timeout=60)
            requests += 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Failure, FailureGroup) as exc:  # every failure is kept, not the first
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:600]}")

        try:
            one()
        except Unsatisfiable:
            # Nothing to make invalid (GET /healthz has no parameters): nothing to send.
            assert mode == GenerationMode.NEGATIVE, operation.label

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(operation, mode)
    elapsed = time.monotonic() - started
    assert not failures, "\n\n".join(failures[:10])
    assert not [s for s in statuses if s >= 500 and s != 503], statuses
    assert server.alive(), server.log_tail()
    assert "Traceback" not in server.log_text(), server.log_tail(60)
    rss_after = process.memory_info().rss / 2**20
    assert rss_after - rss_before < MAX_RSS_GROWTH_MB, (rss_before, rss_after)
    # The fuzz may have unloaded the speech model (an operator action): load it again.
    loaded = httpx.post(f"{server.base_url}/v1/runtime/components/speech/load", timeout=120)
    assert loaded.status_code == 200, loaded.text
    response = httpx.post(
        f"{server.base_url}/v1/audio/transcriptions",
        files={"file": (SHORT, speech.path(SHORT).read_bytes())},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    speech.assert_transcript(SHORT, response.json()["text"])
    print(
        f"schemathesis: {len(operations)} operations, {requests} requests (seed {SEED}, "
        f"{EXAMPLES} examples per operation and mode) in {elapsed:.1f} s; statuses {statuses}; "
        f"RSS {rss_before:.0f} -> {rss_after:.0f} MiB"
    )

"""`tccc llm ask`: a quick manual check of the configured language model."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from tccc.cli.common import Commands, engine_flags, resolve


def configure_parser(sub: Commands, common: argparse.ArgumentParser) -> None:
    """`tccc llm ask "..."`."""
    llm = sub.add_parser(
        "llm", parents=[common], help="the language-model stage: a quick check of the model"
    )
    lsub = llm.add_subparsers(dest="llm_command", required=True)
    ask = lsub.add_parser("ask", parents=[common], help="ask the configured model one question")
    ask.add_argument("question")
    ask.add_argument("--max-tokens", type=int, default=128)
    ask.add_argument("--model-path", help="a GGUF file (default: llm.model_path or SmolLM2)")
    engine_flags(ask)


def cmd_llm(args: argparse.Namespace) -> int:
    """Answer `tccc llm ask`: one question to the configured language model."""
    from tccc.errors import LlmError
    from tccc.llm.cache import LlmCache, cached_chat
    from tccc.llm.model import Options
    from tccc.llm.open import open_model

    settings = resolve(args).settings.llm
    if args.model_path:
        settings = dataclasses.replace(settings, model_path=args.model_path)
    try:
        model = open_model(settings)
        answer = cached_chat(
            model,
            LlmCache(),
            [{"role": "user", "content": args.question}],
            Options(max_tokens=args.max_tokens),
        )
    except LlmError as exc:
        print(f"tccc: {exc}", file=sys.stderr)
        return 2
    print(answer.text.strip())
    print(
        f"[{model.name}: {answer.prompt_tokens} prompt + {answer.completion_tokens} generated "
        f"tokens in {answer.seconds:.2f} s]",
        file=sys.stderr,
    )
    return 0

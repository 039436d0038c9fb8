"""The edge runtime on the command line: `tccc doctor`, `tccc power`, `tccc runtime ...`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from tccc.cli.common import Commands, resolve, settings_flags


def configure_parser(sub: Commands, common: argparse.ArgumentParser) -> None:
    """`tccc doctor`, `tccc power` and `tccc runtime ...`."""
    sub.add_parser(
        "doctor", parents=[common], help="this machine's hardware, builds, models and best profile"
    )
    power = sub.add_parser(
        "power", parents=[common], help="apply a power profile: nvpmodel mode and components"
    )
    power.add_argument(
        "power_profile", metavar="PROFILE", choices=("performance", "balanced", "saver")
    )
    settings_flags(power)
    power.add_argument("--root", default="/", help="root of /proc, /sys and /etc (for tests)")
    power.add_argument("--dry-run", action="store_true", help="say what would run, run nothing")
    power.add_argument(
        "--server",
        default=os.environ.get("TCCC_SERVER_URL", "http://127.0.0.1:10300"),
        help="the running `tccc serve` whose components follow the profile ('' for none)",
    )
    power.add_argument("--api-token", default=os.environ.get("TCCC_API_TOKEN"))
    power.add_argument("--battery-wh", type=float, help="battery capacity for the estimate")

    runtime = sub.add_parser("runtime", parents=[common], help="the edge runtime's policy")
    rsub = runtime.add_subparsers(dest="runtime_command", required=True)
    simulate = rsub.add_parser(
        "simulate", parents=[common], help="replay a telemetry trace through the policy"
    )
    simulate.add_argument("trace", help="a JSON-lines trace file or a bundled trace name")
    simulate.add_argument("--budget-mb", type=float, help="memory budget (default: 4096)")
    settings_flags(simulate)
    simulate.add_argument(
        "--real",
        action="store_true",
        help="apply each action to the real components (tiny.en, SmolLM2) and measure them",
    )
    rsub.add_parser("traces", parents=[common], help="list the bundled traces")


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print the doctor's report."""
    from tccc.runtime.doctor import report

    print(report())
    return 0


def cmd_power(args: argparse.Namespace) -> int:
    """Apply a power profile: the board's nvpmodel mode, then the server's components."""
    from tccc.runtime.power import PowerReader, battery_runtime_h
    from tccc.runtime.power_profiles import apply_mode, power_profile

    settings = resolve(args).settings
    profile = power_profile(args.power_profile)
    plan = apply_mode(profile, root=args.root, dry_run=args.dry_run)
    if args.server and not args.dry_run:
        _server_profile(args, plan)
    print("\n".join(plan.lines()))
    input_mw, why = PowerReader(args.root).read_input()
    capacity = args.battery_wh if args.battery_wh is not None else settings.runtime.battery_wh
    if input_mw is None:
        print(f"input power: not measured ({why})")
    else:
        hours = battery_runtime_h(capacity, input_mw) if capacity > 0 else None
        estimate = (
            f"; a full {capacity:g} Wh battery lasts {hours:.1f} h at this draw"
            if hours is not None
            else "; give --battery-wh for a runtime estimate"
        )
        print(f"input power: {input_mw / 1000:.2f} W{estimate}")
    return 0 if not plan.not_done else 3


def _server_profile(args: argparse.Namespace, plan: Any) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {args.api_token}"} if args.api_token else {}
    url = f"{args.server.rstrip('/')}/v1/runtime/power/{args.power_profile}"
    try:
        response = httpx.post(url, headers=headers, timeout=120)
    except httpx.TransportError as exc:
        plan.not_done.append(f"components: no tccc serve at {args.server} ({type(exc).__name__})")
        return
    if response.status_code != 200:
        plan.not_done.append(f"components: {url} answered {response.status_code}")
        return
    state = response.json()
    plan.done.append(
        f"components of {args.server}: speech model {state['speech_model']}, beam "
        f"{state['beam_size'] or 'configured'}, partials x{state['partial_scale']:g}"
    )


def cmd_runtime(args: argparse.Namespace) -> int:
    """Run `tccc runtime simulate|traces`."""
    from tccc.runtime.policy import PolicyConfig
    from tccc.runtime.simulate import bundled_traces, load_trace, timeline

    if args.runtime_command == "traces":
        print("\n".join(bundled_traces()))
        return 0
    # Only `simulate` has --profile and --config: `traces` needs no settings.
    settings = resolve(args).settings
    readings = load_trace(args.trace)
    span = readings[-1].t_s - readings[0].t_s if readings else 0.0
    if args.real:
        from tccc.runtime.simulate import simulate_real

        lines = asyncio.run(simulate_real(readings, settings, budget_mb=args.budget_mb))
        print(f"{len(readings)} readings over {span:.0f} s, against the real components")
        print("\n".join(lines))
        return 0
    config = PolicyConfig(memory_budget_mb=args.budget_mb) if args.budget_mb else PolicyConfig()
    lines = timeline(readings, config)
    print(f"{len(readings)} readings over {span:.0f} s, {len(lines)} actions")
    print("\n".join(lines) if lines else "no action", file=sys.stdout)
    return 0

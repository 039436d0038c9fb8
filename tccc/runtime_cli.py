"""Command-line glue of the edge runtime: `tccc doctor`, `tccc runtime simulate|traces`."""

from __future__ import annotations

import argparse


def configure_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """`tccc doctor` and `tccc runtime ...`."""
    sub.add_parser("doctor", help="this machine's hardware, builds, models and best profile")
    runtime = sub.add_parser("runtime", help="the edge runtime's policy")
    rsub = runtime.add_subparsers(dest="runtime_command", required=True)
    simulate = rsub.add_parser(
        "simulate", parents=[common], help="replay a telemetry trace through the policy"
    )
    simulate.add_argument("trace", help="a JSON-lines trace file or a bundled trace name")
    simulate.add_argument("--budget-mb", type=float, help="memory budget (default: 4096)")
    rsub.add_parser("traces", parents=[common], help="list the bundled traces")


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print the doctor's report."""
    from tccc.runtime.doctor import report

    print(report())
    return 0


def cmd_runtime(args: argparse.Namespace) -> int:
    """Run `tccc runtime simulate|traces`."""
    from tccc.runtime.policy import PolicyConfig
    from tccc.runtime.simulate import bundled_traces, load_trace, timeline

    if args.runtime_command == "traces":
        print("\n".join(bundled_traces()))
        return 0
    readings = load_trace(args.trace)
    config = PolicyConfig(memory_budget_mb=args.budget_mb) if args.budget_mb else PolicyConfig()
    lines = timeline(readings, config)
    span = readings[-1].t_s - readings[0].t_s if readings else 0.0
    print(f"{len(readings)} readings over {span:.0f} s, {len(lines)} actions")
    print("\n".join(lines) if lines else "no action")
    return 0

"""Edge runtime: telemetry, budgets and policy for Jetson boards and any CPU."""

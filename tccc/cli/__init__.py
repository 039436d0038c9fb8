"""The `tccc` commands, one module per group; `tccc.cli.main` assembles and dispatches them.

Nothing below this package imports it: what a command needs of the product lives in the package
that owns it (stt, analysis, llm, reports, store, runtime, bench).
"""

"""LeadFlow: the lifecycle of case leads (问题线索) in discipline supervision.

This package holds the shells around the product: the command line (:mod:`leadflow.cli`),
the one adapter through which commands reach Prefect (:mod:`leadflow.prefect_runs`) and,
apart, the benchmark harness (:mod:`leadflow.bench`). It may import :mod:`models` and
:mod:`flows`; nothing in them imports it. The rules, their storage and the use cases
live in :mod:`models`, the orchestration in :mod:`flows`.
"""

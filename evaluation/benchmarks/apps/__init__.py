"""APPS (Hendrycks et al., 2021) as the Codex paper evaluates it (section 3.5, Table 2).

Problems are whole programs reading standard input, or functions called with arguments
("call-based", when the data names an `fn_name`). Loading accepts the Hugging Face record layout
(a local JSONL or Arrow copy, or `codeparrot/apps` through `datasets`), the original folder
layout and MapCoder's layout. Each problem keeps its hidden tests in `Problem.test` (JSON text:
`inputs`, `outputs`, `fn_name`) and its public examples in `metadata["public_tests"]`.

A sample is judged with one sandbox run per distinct test input (`jobs`), compared outside the
sandbox (`judge`, rules in `checker` and docs/apps.md), and summarized as raw and filtered
pass@k per difficulty (`summarize`).

The package, one job per module: `loading` (layouts), `examples` (examples parsed from
statements), `prompts` (templates), `checker` (output comparison), `judging` (jobs, test
verdicts, a sample's verdict), `scheduling` (evaluate's waves), `summary` (figures). This module
holds the benchmark contract's names (`evaluation.benchmarks.contract`) and re-exports the rest.
"""

from __future__ import annotations

from evaluation.benchmarks.apps.checker import COMPARISONS, DEFAULT_COMPARISON, REFERENCE, STRICT
from evaluation.benchmarks.apps.judging import CLIP_CHARACTERS, CLIP_LINES, PREAMBLE, clip, jobs, judge
from evaluation.benchmarks.apps.loading import (
    DIFFICULTIES,
    HUB_DATASET,
    LAYOUTS,
    NAME,
    PROTOCOLS,
    PUBLIC_FALLBACK,
    AppsDataError,
    Loaded,
    Skipped,
    load,
    read,
)
from evaluation.benchmarks.apps.prompts import (
    DEFAULT_TEMPLATE,
    STOP_SEQUENCES,
    TEMPLATES,
    Template,
    format_hint,
    program,
    prompt,
    template,
)
from evaluation.benchmarks.apps.scheduling import evaluate
from evaluation.benchmarks.apps.summary import (
    FILTERED_RULE,
    KS,
    STRICT_KS,
    SUBSETS,
    TIMEOUTS,
    VARIANTS,
    figures,
    summarize,
)
from evaluation.benchmarks.contract import Column, Judging, Sampling

TITLE = "APPS"
JUDGING = Judging.EXECUTED
EXTENDS = ""
SAMPLING = Sampling(n=1000, temperatures=(0.6,), max_new_tokens=512)
COLUMNS = tuple(
    Column(f"apps:{subset}:{variant}", variant, "pass@1", subset, variant, group=f"{TITLE} {subset} pass@1")
    for subset in SUBSETS
    for variant in VARIANTS
)

__all__ = [
    "CLIP_CHARACTERS",
    "CLIP_LINES",
    "COLUMNS",
    "COMPARISONS",
    "DEFAULT_COMPARISON",
    "DEFAULT_TEMPLATE",
    "DIFFICULTIES",
    "FILTERED_RULE",
    "HUB_DATASET",
    "JUDGING",
    "KS",
    "LAYOUTS",
    "NAME",
    "PREAMBLE",
    "PROTOCOLS",
    "PUBLIC_FALLBACK",
    "REFERENCE",
    "SAMPLING",
    "STOP_SEQUENCES",
    "STRICT",
    "STRICT_KS",
    "SUBSETS",
    "TEMPLATES",
    "TIMEOUTS",
    "TITLE",
    "VARIANTS",
    "AppsDataError",
    "Loaded",
    "Skipped",
    "Template",
    "clip",
    "evaluate",
    "figures",
    "format_hint",
    "jobs",
    "judge",
    "load",
    "program",
    "prompt",
    "read",
    "summarize",
    "template",
]

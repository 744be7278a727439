"""Page latency on a large board under concurrent clients, against a trivial page of the same server.

Loads a board of its own into a fresh database (SQLite in a temporary folder, or the PostgreSQL
database named by BENCH_DATABASE_URL, which it empties): 1,000 models, each with three HumanEval
runs (T=0.2 and T=0.8 with n=2, T=0.6 with n=10) holding samples for every problem (about 2.3
million samples with verdicts and log-probabilities), their pass@1 and pass@10 computed from those
verdicts with a bootstrap interval (50 resamples, to load quickly), and stored APPS figures.
pass@100 would need n=100 and 16 million more samples, so it stays blank. Then it starts gunicorn
on 127.0.0.1 and sends a bounded number of requests from concurrent clients to each page, and
prints the median and 95th percentile latency of each with their ratios to those of the trivial
page (`/api/`, which renders a small JSON without touching the database, measured before and
after the others) and the size of one answer. The model visited has Figure 7's ranking curves
stored, as finished runs do; one more model has a run of n=1000 long samples (about 3 KB each) on
one problem, whose run page shows that problem's samples. A repeat visit sends the ETag of its
first answer (If-None-Match).

Persistent database connections are on (DATABASE_CONN_MAX_AGE=60, as in
deploy/production.env.example) unless the environment sets them. A slow page gets as many requests
as fit in --page-seconds (at least one per client), so that a bench of pages taking seconds each
stays bounded. On PostgreSQL, `--requests 0` only loads, and `--reuse` measures the board a previous
run left (same --models) without loading it again.

    .venv/bin/python bench/bench_pages.py [--models 1000] [--clients 4] [--requests 40] [--workers 2]
        [--page-seconds 60] [--reuse]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = ((0.2, 2), (0.8, 2), (0.6, 10))
FAMILIES = (
    "CodeGen",
    "StarCoder",
    "Llama",
    "Qwen",
    "DeepSeek",
    "Phi",
    "Mistral",
    "GPT-Neo",
    "Pythia",
    "Other",
)
COMPLETIONS = [f"    return sorted(values)[{i}]\n" for i in range(8)] + ["    pass\n", "    return None\n"]
LONG_N = 1000
LONG_LINES = 100  # lines of a long sample: about 3 KB


def configure(folder: Path) -> None:
    """Point Django at the bench's own database before anything imports the settings."""
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.update(
        {
            "DATABASE_URL": url,
            "VAR_DIR": str(folder / "var"),
            "DJANGO_SETTINGS_MODULE": "leaderboard.settings",
            "DEBUG": "0",
            "CELERY_BROKER_URL": "memory://",
        }
    )
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
    import django

    django.setup()


def insert_samples(rows: list[dict]) -> None:
    """Plain INSERTs: the ORM's per-object work would take most of the bench's time at this size.

    Columns come from the model, so a field added later is written with its default.
    """
    from django.db import connection

    from leaderboard.runs.models import Sample

    fields = [f for f in Sample._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(Sample._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[row.get(f.attname, defaults[f.attname]) for f in fields] for row in rows])


def load(models: int, seed: int = 0, reuse: bool = False) -> dict:
    """Write the board with bulk inserts (or, with `reuse`, keep the one a previous run of the same size
    left); return ids of the models, runs and problem to visit."""
    from django.core.management import call_command
    from django.db import transaction

    from evaluation.benchmarks import humaneval
    from evaluation.metrics import bootstrap_interval, mean_pass_at_k
    from leaderboard.runs.models import Benchmark, CodeModel, Problem, PublicVersion, Result, Run, Sample
    from leaderboard.runs.services import compute_results, load_benchmark

    call_command("migrate", verbosity=0, interactive=False)
    if reuse and CodeModel.objects.exclude(name="Long samples").count() == models:
        PublicVersion.bump()
        return visited()
    call_command("flush", verbosity=0, interactive=False)
    rng = random.Random(seed)
    benchmark, _ = load_benchmark(humaneval.load())
    problems = list(benchmark.problems.order_by("position").values_list("id", flat=True))
    difficulty = [rng.uniform(-3, 3) for _ in problems]
    apps = Benchmark.objects.create(name="apps", content_hash="0" * 64)
    Problem.objects.create(benchmark=apps, position=0, task_id="apps/0", prompt="", test="{}")
    code_models = CodeModel.objects.bulk_create(
        CodeModel(
            name=f"{FAMILIES[i % len(FAMILIES)]}-{i:04d}",
            family=FAMILIES[i % len(FAMILIES)],
            parameters=int(10 ** rng.uniform(7.5, 11)),
            source=CodeModel.Source.IMPORTED,
            open_weights=rng.random() < 0.8,
            released=date(2021, 1, 1) + timedelta(days=rng.randrange(1500)),
        )
        for i in range(models)
    )
    for code_model in code_models:
        skill = rng.uniform(-2, 3)
        with transaction.atomic():
            runs = Run.objects.bulk_create(
                [
                    Run(
                        model=code_model,
                        benchmark=benchmark,
                        temperature=t,
                        top_p=0.95,
                        n=n,
                        status=Run.Status.FINISHED,
                        samples_total=n * len(problems),
                        samples_executed=n * len(problems),
                    )
                    for t, n in RUNS
                ]
                + [Run(model=code_model, benchmark=apps, temperature=0.6, n=5, status=Run.Status.FINISHED)]
            )
            samples, results = [], []
            for run in runs[:-1]:
                counts = []
                for problem_id, hardness in zip(problems, difficulty, strict=True):
                    chance = 1 / (1 + math.exp(hardness - skill + (run.temperature - 0.2)))
                    passed = [rng.random() < chance for _ in range(run.n)]
                    counts.append((run.n, sum(passed)))
                    samples += [
                        {
                            "run_id": run.id,
                            "problem_id": problem_id,
                            "index": index,
                            "completion": rng.choice(COMPLETIONS),
                            "mean_logprob": -rng.random(),
                            "sum_logprob": -rng.uniform(1, 60),
                            "verdict": Sample.Verdict.PASSED if ok else Sample.Verdict.FAILED,
                            "status": "passed" if ok else "failed",
                            "detail": "" if ok else "AssertionError",
                            "run_time": 0.01,
                        }
                        for index, ok in enumerate(passed)
                    ]
                for k in (1, 10):
                    if k <= run.n:
                        low, high = bootstrap_interval(counts, k, resamples=50)
                        results.append(
                            Result(
                                run=run,
                                metric=f"pass@{k}",
                                value=mean_pass_at_k(counts, k),
                                ci_low=low,
                                ci_high=high,
                            )
                        )
            for subset in ("introductory", "interview", "competition", "all"):
                for variant in ("raw", "filtered", "raw+timeouts"):
                    value = rng.random() / 4
                    results.append(
                        Result(run=runs[-1], metric="pass@1", subset=subset, variant=variant, value=value)
                    )
            insert_samples(samples)
            Result.objects.bulk_create(results)
    visit = code_models[len(code_models) // 2]
    for run in Run.objects.filter(model=visit, benchmark=benchmark):
        compute_results(run)
    long_run(benchmark, rng)
    PublicVersion.bump()  # written around the services: the cached pages are told here
    return visited()


def visited() -> dict:
    """Ids of the pages the bench visits, read from the loaded board."""
    from leaderboard.runs.models import CodeModel, Problem, Run

    code_models = list(CodeModel.objects.exclude(name="Long samples").order_by("id"))
    visit = code_models[len(code_models) // 2]
    return {
        "model": visit.id,
        "other_model": code_models[len(code_models) // 3].id,
        "run": Run.objects.filter(model=visit, n=10).values_list("id", flat=True).get(),
        "long_run": Run.objects.filter(model__name="Long samples").values_list("id", flat=True).get(),
        "problem": Problem.objects.get(benchmark__name="humaneval", position=10).id,
        "family": visit.family,
    }


def long_run(benchmark, rng: random.Random):
    """A finished run of n=1000 long samples (lines of the canonical solutions) on HumanEval/0 only."""
    from leaderboard.runs.models import CodeModel, Run, Sample
    from leaderboard.runs.services import compute_results

    lines = [line for p in benchmark.problems.all() for line in p.canonical_solution.splitlines() if line]
    problem = benchmark.problems.get(position=0)
    model = CodeModel.objects.create(name="Long samples", family="Other", parameters=10**9)
    run = Run.objects.create(
        model=model,
        benchmark=benchmark,
        temperature=0.8,
        top_p=0.95,
        n=LONG_N,
        status=Run.Status.FINISHED,
        samples_total=LONG_N,
        samples_executed=LONG_N,
        problems_covered=1,
        problems_total=benchmark.problems.count(),
    )
    samples = []
    for index in range(LONG_N):
        ok = rng.random() < 0.3
        samples.append(
            {
                "run_id": run.id,
                "problem_id": problem.id,
                "index": index,
                "completion": "\n".join(rng.choice(lines) for _ in range(LONG_LINES)) + "\n",
                "mean_logprob": -rng.random(),
                "sum_logprob": -rng.uniform(50, 500),
                "verdict": Sample.Verdict.PASSED if ok else Sample.Verdict.FAILED,
                "status": "passed" if ok else "failed",
                "detail": "" if ok else "AssertionError",
                "run_time": 0.01,
            }
        )
    insert_samples(samples)
    compute_results(run)
    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict | None = None) -> tuple[float, int, dict]:
    """Seconds, bytes of the body and headers of a GET answered 200 (or 304 to a conditional GET)."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=300
        ) as answer:
            size = len(answer.read())
            if answer.status != 200:
                raise RuntimeError(f"{url}: {answer.status}")
            found = dict(answer.headers)
    except urllib.error.HTTPError as error:
        if error.code != 304 or not headers:
            raise
        size, found = len(error.read()), dict(error.headers)
    return time.perf_counter() - start, size, found


def measure(
    url: str, clients: int, requests: int, seconds: float, repeat: bool = False
) -> tuple[list[float], int]:
    """Up to `requests` GETs of one URL shared among `clients` threads, after warm-up requests (as
    many at once as there are clients, twice, unless the page is slow), stopping after `seconds`
    once `clients` of them are done; returns their latencies and the bytes of one answer.
    `repeat`: each GET sends the ETag of the first answer, as a browser's repeat visit does."""
    elapsed, size, headers = get(url)
    if elapsed < seconds / 4:  # each worker process keeps a cache of its own: warm them all
        for _ in range(2):
            warm = [threading.Thread(target=get, args=(url,)) for _ in range(clients)]
            for thread in warm:
                thread.start()
            for thread in warm:
                thread.join()
    sent = {"If-None-Match": headers["ETag"]} if repeat and "ETag" in headers else None
    if sent:
        _, size, _ = get(url, sent)
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = iter(range(requests))
    deadline = time.monotonic() + seconds

    def client() -> None:
        while True:
            with lock:
                over = time.monotonic() > deadline and len(latencies) >= clients
                if over or next(remaining, None) is None:
                    return
            elapsed, _, _ = get(url, sent)
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, size


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=40, help="requests per page (0: only load)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--page-seconds", type=float, default=60, help="time budget of one page")
    parser.add_argument("--keep", action="store_true", help="keep the database folder")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the board that BENCH_DATABASE_URL holds when it has --models models (no reload)",
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    server = None
    try:
        configure(folder)
        started = time.perf_counter()
        ids = load(args.models, reuse=args.reuse)
        from leaderboard.runs.models import Sample

        print(
            f"loaded {args.models} models, {Sample.objects.count():,} samples "
            f"in {time.perf_counter() - started:.0f} s ({os.environ['DATABASE_URL'].split(':')[0]}, "
            f"DATABASE_CONN_MAX_AGE={os.environ['DATABASE_CONN_MAX_AGE']})"
        )
        if not args.requests:
            return 0
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "leaderboard.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(args.workers),
                "--timeout",
                "600",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                get(base + "/api/")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        run, long_run = ids["run"], ids["long_run"]
        pages = {
            "trivial page /api/": "/api/",
            "board, first page": "/",
            "board, repeat visit (If-None-Match)": ("/", True),
            "board, page 5": "/?page=5",
            "board sorted by pass@10, ascending": "/?sort=pass@10&order=asc",
            "board sorted by APPS interview filtered": "/?sort=apps:interview:filtered",
            "board filtered and searched": f"/?family={ids['family']}&min_size=1&q=0",
            "board as CSV (every model)": "/?format=csv",
            "board through the API (every model)": "/api/board/",
            "Table 1 (every model)": "/tables/humaneval/",
            "Table 2 (every model)": "/tables/apps/",
            "Table 3 (docstrings)": "/tables/docstrings/",
            "Table 3 with agreement (/grading/table/)": "/grading/table/",
            "charts (Figure 6)": "/charts/",
            "model page (3 runs, charts)": f"/models/{ids['model']}/",
            "model through the API": f"/api/models/{ids['model']}/",
            "models through the API": "/api/models/",
            "run page (grid, charts)": f"/runs/{run}/",
            "run page with a problem's samples": f"/runs/{run}/?problem=HumanEval/10",
            "run page, n=1000 long samples of a problem": f"/runs/{long_run}/?problem=HumanEval/0",
            "run through the API": f"/api/runs/{run}/",
            "run's samples through the API, n=1000": f"/api/runs/{long_run}/samples/?problem=HumanEval/0",
            "problem page (every run on it)": f"/problems/{ids['problem']}/",
            "problem through the API": f"/api/problems/{ids['problem']}/",
            "comparison of two models": f"/compare/?a={ids['model']}&b={ids['other_model']}"
            "&benchmark=humaneval",
            "queue": "/queue/",
            "trivial page /api/, again": "/api/",
        }
        print(
            f"{args.clients} concurrent clients, up to {args.requests} requests per page "
            f"({args.page_seconds:.0f} s at most), {args.workers} workers"
        )
        print(f"{'page':45} {'median ms':>10} {'p95 ms':>8} {'x trivial':>10} {'p95 x':>6} {'KB':>8}")
        baseline = None
        for name, path in pages.items():
            path, repeat = path if isinstance(path, tuple) else (path, False)
            latencies, size = measure(base + path, args.clients, args.requests, args.page_seconds, repeat)
            median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
            baseline = baseline or (median, p95)
            print(
                f"{name:45} {1000 * median:10.1f} {1000 * p95:8.1f} {median / baseline[0]:10.1f} "
                f"{p95 / baseline[1]:6.1f} {size / 1000:8.1f}"
            )
        return 0
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

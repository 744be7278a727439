"""Page latency on a large board under concurrent clients, against a trivial page of the same server.

Loads a board of its own into a fresh database (SQLite in a temporary folder, or the PostgreSQL
database named by BENCH_DATABASE_URL, which it empties): 1,000 models, each with three HumanEval
runs (T=0.2 and T=0.8 with n=2, T=0.6 with n=10) holding samples for every problem (about 2.3
million samples with verdicts and log-probabilities), their pass@1 and pass@10 computed from those
verdicts with a bootstrap interval (50 resamples, to load quickly), and stored APPS figures.
pass@100 would need n=100 and 16 million more samples, so it stays blank. Then it starts gunicorn
on 127.0.0.1 and sends a bounded number of requests from concurrent clients to each page, and
prints the median and 95th percentile latency of each, and each median's ratio to the trivial
page (`/api/`, which renders a small JSON without touching the database), measured before and
after the others. The model visited has Figure 7's ranking curves stored, as finished runs do.

    .venv/bin/python bench/bench_pages.py [--models 1000] [--clients 4] [--requests 40] [--workers 2]
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


def load(models: int, seed: int = 0) -> dict:
    """Write the board with bulk inserts; return ids of a model, a run and a problem to visit."""
    from django.core.management import call_command
    from django.db import transaction

    from evaluation.benchmarks import humaneval
    from evaluation.metrics import bootstrap_interval, mean_pass_at_k
    from leaderboard.runs.models import Benchmark, CodeModel, Problem, Result, Run, Sample
    from leaderboard.runs.services import compute_results, load_benchmark

    call_command("migrate", verbosity=0, interactive=False)
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
    return {
        "model": visit.id,
        "run": Run.objects.filter(model=visit, n=10).values_list("id", flat=True).get(),
        "problem": problems[10],
        "family": visit.family,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
    return time.perf_counter() - start


def measure(url: str, clients: int, requests: int) -> list[float]:
    """`requests` GETs of one URL shared among `clients` threads, after two warm-up requests."""
    get(url)
    get(url)
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = iter(range(requests))

    def client() -> None:
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            elapsed = get(url)
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=40, help="requests per page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the database folder")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    server = None
    try:
        configure(folder)
        started = time.perf_counter()
        ids = load(args.models)
        from leaderboard.runs.models import Sample

        print(
            f"loaded {args.models} models, {Sample.objects.count():,} samples "
            f"in {time.perf_counter() - started:.0f} s ({os.environ['DATABASE_URL'].split(':')[0]})"
        )
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
        pages = {
            "trivial page /api/": "/api/",
            "board, first page": "/",
            "board sorted by pass@10, ascending": "/?sort=pass@10&order=asc",
            "board sorted by APPS interview filtered": "/?sort=apps:interview:filtered",
            "board filtered and searched": f"/?family={ids['family']}&min_size=1&q=0",
            "board as CSV (every model)": "/?format=csv",
            "Table 1 (every model)": "/tables/humaneval/",
            "Table 2 (every model)": "/tables/apps/",
            "charts (Figure 6)": "/charts/",
            "model page (3 runs, charts)": f"/models/{ids['model']}/",
            "run page (grid, charts)": f"/runs/{ids['run']}/",
            "run page with a problem's samples": f"/runs/{ids['run']}/?problem=HumanEval/10",
            "problem page (every run on it)": f"/problems/{ids['problem']}/",
            "queue": "/queue/",
            "trivial page /api/, again": "/api/",
        }
        print(f"{args.clients} concurrent clients, {args.requests} requests per page, {args.workers} workers")
        print(f"{'page':45} {'median ms':>10} {'p95 ms':>8} {'x trivial':>10}")
        baseline = None
        for name, path in pages.items():
            latencies = measure(base + path, args.clients, args.requests)
            median = statistics.median(latencies)
            baseline = baseline or median
            p95 = percentile(latencies, 0.95)
            print(f"{name:45} {1000 * median:10.1f} {1000 * p95:8.1f} {median / baseline:10.1f}")
        return 0
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

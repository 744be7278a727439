"""How the shipped MapCoder sample files were made from the files MapCoder published (a developer's tool).

    python evaluation/data/convert_mapcoder.py ../shared/data

MapCoder's result files hold one row per problem with the whole conversation (prompts, responses,
token counts) and the final program in `source_codes[-1]` (Reflexion's files: `solution`). The
shipped copies keep what the site imports: `task_id`, `completion` (that program, unchanged) and
MapCoder's own verdict `is_solved`. An APPS problem that MapCoder's file repeats keeps its first
row, so that each problem has one sample.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "samples" / "mapcoder"
# shipped name -> MapCoder's file name
HUMANEVAL = {
    "humaneval_chatgpt_analogical": "ChatGPT-Analogical-Python3-0-1.jsonl",
    "humaneval_chatgpt_cot": "ChatGPT-CoT-Python3-0-1.jsonl",
    "humaneval_chatgpt_mapcoder": "ChatGPT-MapCoder-5-5-Human-Python3-0-1.jsonl",
    "humaneval_chatgpt_reflexion": "ChatGPT-Reflexion-10-Python3-0-1.jsonl",
    "humaneval_gpt4_direct": "humaneval-py..gz_simple_1_gpt-4_pass_at_k_1_py.jsonl",
    "humaneval_gpt4_reflexion": "reflexion_humaneval_py_pass_at_1.jsonl",
    "humaneval_gpt4turbo_analogical": "GPT4-Turbo-Analogical-Human-Python3-0-1.jsonl",
    "humaneval_gpt4turbo_cot": "GPT4-Turbo-CoT-Human-Python3-0-1.jsonl",
    "humaneval_gpt4turbo_mapcoder": "GPT4-Turbo-MapCoder-5-5-Human-Python3-0-1.jsonl",
    "humaneval_gpt4turbo_selfplanning": "GPT4-Turbo-SelfPlanning-Human-Python3-0-1.jsonl",
    "humaneval_gemini_cot": "Gemini-CoT-Human-Python3-0-1.jsonl",
    "humaneval_gemini_direct": "Gemini-Direct-Human-Python3-0-1.jsonl",
    "humaneval_gemini_mapcoder": "Gemini-MapCoder-Human-Python3-0-1.jsonl",
}
APPS = {
    f"apps_{model.lower().replace('-', '')}_{method.lower()}": f"{model}-{method}{k_t}-APPS-Python3-0-1.jsonl"
    for model in ("ChatGPT", "GPT4-Turbo")
    for method, k_t in (
        ("Analogical", ""),
        ("CoT", ""),
        ("Direct", ""),
        ("MapCoder", "-3-5"),
        ("SelfPlanning", ""),
    )
}


def program(row: dict) -> str:
    return row["source_codes"][-1] if row.get("source_codes") else row["solution"]


def convert(source: Path, target: Path, task_id: str) -> int:
    seen: set[str] = set()
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        key = str(row[task_id])
        if key in seen:
            continue
        seen.add(key)
        lines.append(json.dumps({"task_id": key, "completion": program(row), "is_solved": row["is_solved"]}))
    # mtime 0: the same rows give the same bytes
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        out.write(("\n".join(lines) + "\n").encode())
    return len(lines)


def main(shared: Path) -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for folder, files, task_id in (
        ("humaneval_mapcoder", HUMANEVAL, "task_id"),
        ("apps_mapcoder", APPS, "id"),
    ):
        for name, original in files.items():
            rows = convert(shared / "samples" / folder / original, HERE / f"{name}.jsonl.gz", task_id)
            print(f"{name}.jsonl.gz <- {original}: {rows} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))

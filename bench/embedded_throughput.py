"""Engine throughput in embedded mode: SQLite (WAL) and kombu's filesystem broker.

.venv/bin/python bench/embedded_throughput.py [--instances 300] [--steps 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

folder = tempfile.mkdtemp(prefix="podium-bench-embedded-")
os.environ["PODIUM_VAR_DIR"] = folder
os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
os.environ["CELERY_BROKER_URL"] = "filesystem://localhost/"
sys.path.insert(0, os.path.dirname(__file__))

import engine_throughput as bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    print(f"embedded mode (SQLite WAL, filesystem broker), {args.instances} x {args.steps} steps")
    per_task = bench.engine_run(args.instances, args.steps, inline=0)
    print(f"engine, one task per step:        {per_task:8.0f} steps/s", flush=True)
    chained = bench.engine_run(args.instances, args.steps, inline=50)
    print(f"engine, chained automated steps:  {chained:8.0f} steps/s", flush=True)


if __name__ == "__main__":
    main()

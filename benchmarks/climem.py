"""Run ``aiocases`` (the command line) in this process and report its peak RSS:
``python benchmarks/climem.py export ...`` prints one JSON object on stdout
(exit status, wall and CPU seconds, peak RSS in MiB); the export itself must
go to ``--output FILE``."""

from __future__ import annotations

import json
import sys
import time

from runners import peak_rss_kib

from aiocases.cli import main

if __name__ == "__main__":
    cpu, wall = time.process_time(), time.perf_counter()
    status = main(sys.argv[1:])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    json.dump({"status": status, "cpu": cpu, "wall": wall, "peak_rss_mib": peak_rss_kib() / 1024}, sys.stdout)

"""Run every benchmark, each in its own process (so one's memory or Qt state cannot skew another)."""

import os
import subprocess
import sys

BENCHES = ["bench_ingest", "bench_render", "bench_latency", "bench_memory", "bench_decoders", "bench_alarms", "bench_review"]


def main() -> int:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    failed = []
    for name in BENCHES:
        print(f"== {name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], env=env).returncode != 0:
            failed.append(name)
    if failed:
        print(f"benchmarks that did not run to the end: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

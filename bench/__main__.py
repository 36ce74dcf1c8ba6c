"""Run every benchmark, each in its own process (so one's memory or Qt state cannot skew another).

Each bench prints its figures with a verdict per target ("MET" / "NOT MET"). The runner passes the
output through as it comes and ends with two separate lists: targets not met (the bench ran, the
program is too slow) and benches that did not run to the end (the bench itself failed).
"""

import os
import subprocess
import sys

BENCHES = [
    "bench_ingest",
    "bench_render",
    "bench_latency",
    "bench_trip",
    "bench_memory",
    "bench_decoders",
    "bench_alarms",
    "bench_review",
]


def main() -> int:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    failed: list[str] = []
    not_met: list[str] = []
    for name in BENCHES:
        print(f"== {name}", flush=True)
        proc = subprocess.Popen([sys.executable, "-m", f"bench.{name}"], env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if "NOT MET" in line:
                not_met.append(f"{name}: {line.strip()}")
        if proc.wait() != 0:
            failed.append(name)
    if not_met:
        print("targets not met:")
        for line in not_met:
            print(f"  {line}")
    if failed:
        print(f"benchmarks that did not run to the end: {', '.join(failed)}")
    if not not_met and not failed:
        print("every target met")
    return 1 if failed or not_met else 0


if __name__ == "__main__":
    sys.exit(main())

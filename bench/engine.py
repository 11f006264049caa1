"""Engine speed and memory: a 100-epoch run, and per-step runs of 10^4, 10^5 and 10^6 points, each next to
the time to merely parse the same JSON with orjson (the fastest JSON library here), as a ratio.

usage: python bench/engine.py [--sizes 100,10000,100000,1000000] [--repeat 3]
Each size runs in its own process so its peak RSS is its own. Targets: a 100-epoch run under 20 ms; a
10^6-point run within 3x its JSON parse time and under 2 s; peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np
import orjson


def make_payload(n: int, seed: int = 0) -> dict[str, Any]:
    """A realistic curve: noisy decay with a few recovered spikes; per-epoch when small, per-step when large."""
    rng = np.random.default_rng(seed)
    x = np.arange(1, n + 1, dtype=np.float64)
    train = 0.3 + 2.0 * np.exp(-x / (n / 4)) * np.exp(rng.normal(0, 0.05, n))
    if n >= 1000:
        train[rng.integers(n // 10, n, 3)] *= 4
        every = max(1, n // 200)
        val_steps = x[every - 1 :: every]
        val = 0.35 + 2.0 * np.exp(-val_steps / (n / 4))
        return {"metrics": {"loss": {"steps": x.tolist(), "values": train.tolist()},
                            "val_loss": {"steps": val_steps.tolist(), "values": val.tolist()},
                            "lr": {"steps": x.tolist(), "values": np.full(n, 3e-4).tolist()}},
                "meta": {"x_axis": "step"}}
    val = 0.35 + 2.0 * np.exp(-x / (n / 4)) + 0.004 * np.maximum(0, x - 0.6 * n)
    return {"metrics": {"loss": train.tolist(), "val_loss": val.tolist(),
                        "accuracy": (1 - train / 3).tolist(), "val_accuracy": (1 - val / 3).tolist()}}


def measure(n: int, repeat: int) -> dict[str, float]:
    from lossdoctor.engine import diagnose
    from lossdoctor.ingest.payload import run_from_payload

    raw = orjson.dumps(make_payload(n))
    parse = min(_timed(lambda: orjson.loads(raw)) for _ in range(repeat))
    body = orjson.loads(raw)
    engine = min(_timed(lambda: diagnose(run_from_payload(body))) for _ in range(repeat))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"points": n, "json_mb": len(raw) / 1e6, "parse_s": parse, "engine_s": engine,
            "ratio": engine / parse, "peak_rss_mb": peak_mb}


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.repeat)))
        return 0
    print(f"{'points':>9} {'JSON MB':>8} {'parse s':>8} {'engine s':>9} {'engine/parse':>13} {'peak RSS MB':>12}")
    for n in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--repeat", str(args.repeat)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        print(f"{r['points']:9d} {r['json_mb']:8.2f} {r['parse_s']:8.4f} {r['engine_s']:9.4f} "
              f"{r['ratio']:13.1f} {r['peak_rss_mb']:12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the change-point reduction costs: accuracy on the labelled runs and time on a long curve, per bound.

Change points are searched on at most `max_points` block means of a curve (detect/changepoints.py), so PELT's
cost stays bounded whatever the length. This prints, for several bounds, the macro-F1 / false-alarm / onset
figures of bench/accuracy.py on the corpus and the real logs, and the time of the change-point search alone
and of a whole diagnosis on a 10^6-point run. The classifiers judge the curves themselves (spikes and
non-finite values on the full series, rises and swings on smoothed or block-reduced ones); change points and
segments describe the curve in the JSON profile and the plot. So the bound moves time and the segments shown,
and this bench checks that it leaves every verdict alone.

usage: python bench/changepoints.py [--bounds 25,50,100,200,400,800]
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))
sys.path.insert(0, str(ROOT))

from bench.accuracy import load, score  # noqa: E402
from bench.engine import make_payload  # noqa: E402
from lossdoctor.detect import changepoints, profile  # noqa: E402
from lossdoctor.engine import diagnose  # noqa: E402
from lossdoctor.ingest.payload import run_from_payload  # noqa: E402

DIRS = ("tests/corpus", "tests/data/real-logs")


def use_bound(max_points: int) -> None:
    """Every profile built from now on searches change points on at most `max_points` block means."""
    profile.ChangePointDetector = partial(changepoints.ChangePointDetector, max_points=max_points)  # type: ignore[misc]


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--bounds", default="25,50,100,200,400,800")
    args = p.parse_args()
    cases = {d: load(ROOT / d) for d in DIRS}
    long_run = run_from_payload(make_payload(1_000_000))
    signal = np.log(long_run.series["train_loss"].values)
    print(f"{'max_points':>10}  {'corpus F1/FA/onsets':>24}  {'real-logs F1/FA/onsets':>24}  "
          f"{'search 10^6 s':>13}  {'diagnose 10^6 s':>15}")
    for bound in (int(b) for b in args.bounds.split(",")):
        use_bound(bound)
        figures = []
        for d in DIRS:
            r = score(cases[d])
            figures.append(f"{r['macro_f1']:.3f}/{r['false_alarm_rate']:.1%}/{r['onset_rate']:.1%}")
        start = time.perf_counter()
        changepoints.ChangePointDetector(max_points=bound).fit(signal)
        search = time.perf_counter() - start
        start = time.perf_counter()
        diagnose(long_run)
        whole = time.perf_counter() - start
        print(f"{bound:>10}  {figures[0]:>24}  {figures[1]:>24}  {search:>13.3f}  {whole:>15.3f}")


if __name__ == "__main__":
    main()

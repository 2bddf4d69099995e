#!/usr/bin/python3
"""The Python package's costs, measured side by side in one run (never a pass/fail):
  1. tracker.start(); tracker.stop() of EmissionsTracker (median of N, ms), and the constructor;
  2. the overhead of tracking a NumPy training loop at 1 s sampling: the same loop timed without
     and with a running tracker, alternated, median of the rounds; the ratio is the overhead.

  PYTHONPATH=build/release/python bench/python/tracker_overhead.py [--rounds 7] [--seconds 3]
"""
import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np

import greenai
from greenai.codecarbon import EmissionsTracker


def train_loop(seconds, rng):
    """Logistic regression epochs on random data for about `seconds`; returns the epochs run."""
    x = rng.normal(size=(20000, 64))
    y = (x @ rng.normal(size=64) > 0).astype(np.float64)
    w = np.zeros(64)
    epochs = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        p = 1 / (1 + np.exp(-(x @ w)))
        w -= 0.1 * x.T @ (p - y) / len(y)
        epochs += 1
    return epochs


def timed_epochs(epochs, rng):
    x = rng.normal(size=(20000, 64))
    y = (x @ rng.normal(size=64) > 0).astype(np.float64)
    w = np.zeros(64)
    start = time.perf_counter()
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(x @ w)))
        w -= 0.1 * x.T @ (p - y) / len(y)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--starts", type=int, default=50)
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp())
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    print(f"CPU {cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
          f"greenai {greenai.__version__}")

    constructs, start_stops = [], []
    for _ in range(args.starts):
        t0 = time.perf_counter()
        tracker = EmissionsTracker(measure_power_secs=15, save_to_file=True)
        t1 = time.perf_counter()
        tracker.start()
        tracker.stop()
        t2 = time.perf_counter()
        constructs.append((t1 - t0) * 1000)
        start_stops.append((t2 - t1) * 1000)
    print(f"EmissionsTracker(): median {statistics.median(constructs):.2f} ms; "
          f"start()+stop() (one CSV row written): median {statistics.median(start_stops):.2f} ms, "
          f"max {max(start_stops):.2f} ms over {args.starts}")
    print(f"energy of those runs: {tracker.final_emissions_data.energy_provenance} "
          f"({tracker.get_detected_hardware()['sources']['cpu']['sensor']})")

    rng = np.random.default_rng(0)
    epochs = train_loop(args.seconds, rng)
    bare, tracked = [], []
    for _ in range(args.rounds):
        bare.append(timed_epochs(epochs, np.random.default_rng(1)))
        tracker = EmissionsTracker(measure_power_secs=1, save_to_file=False)
        tracker.start()
        tracked.append(timed_epochs(epochs, np.random.default_rng(1)))
        tracker.stop()
    b, t = statistics.median(bare), statistics.median(tracked)
    print(f"NumPy loop ({epochs} epochs, about {args.seconds:g} s): bare median {b:.3f} s, "
          f"tracked at 1 s sampling median {t:.3f} s: overhead {100 * (t / b - 1):+.2f} % "
          f"({args.rounds} alternated rounds; bare spread {min(bare):.3f}-{max(bare):.3f} s)")


if __name__ == "__main__":
    main()

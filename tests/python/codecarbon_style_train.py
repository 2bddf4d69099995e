"""A training script written for CodeCarbon, in the style its documentation shows (explicit
start/stop, tasks, the context manager, the decorator). The tests run it with only its import
line switched to greenai.codecarbon; nothing else changes.

    python3 codecarbon_style_train.py OUTPUT_DIR
"""
import sys

import numpy as np
from codecarbon import EmissionsTracker, track_emissions

OUTPUT_DIR = sys.argv[1] if len(sys.argv) > 1 else "."


def make_data(rng, n=4000, d=32):
    w = rng.normal(size=d)
    x = rng.normal(size=(n, d))
    y = (x @ w + 0.1 * rng.normal(size=n) > 0).astype(np.float64)
    return x, y


def train_logistic_regression(x, y, epochs=30, lr=0.5):
    w = np.zeros(x.shape[1])
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(x @ w)))
        w -= lr * x.T @ (p - y) / len(y)
    return w


@track_emissions(project_name="cc_style_eval", output_dir=OUTPUT_DIR, measure_power_secs=1)
def evaluate(w, x, y):
    return float(((x @ w > 0) == (y > 0.5)).mean())


def main():
    rng = np.random.default_rng(0)
    tracker = EmissionsTracker(project_name="cc_style_train", output_dir=OUTPUT_DIR,
                               measure_power_secs=1, tracking_mode="process")
    tracker.start()
    tracker.start_task("load_data")
    x, y = make_data(rng)
    tracker.stop_task()
    tracker.start_task("train")
    w = train_logistic_regression(x, y)
    train_task = tracker.stop_task()
    emissions = tracker.stop()
    accuracy = evaluate(w, x, y)
    with EmissionsTracker(project_name="cc_style_predict", output_dir=OUTPUT_DIR,
                          measure_power_secs=1) as predict:
        _ = 1 / (1 + np.exp(-(x @ w)))
    print(f"accuracy {accuracy:.3f} emissions {emissions:.3e} kg "
          f"train task {train_task.energy_consumed:.3e} kWh "
          f"predict {predict.final_emissions:.3e} kg")


if __name__ == "__main__":
    main()

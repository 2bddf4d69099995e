"""GreenAI's own Python API over the C++ tracker: phases, steps, the provenance of every figure,
the Prometheus endpoint and carbon-intensity series.

    import greenai
    with greenai.Tracker(project_name="train", country="FRA") as t:
        with t.phase("epoch 1"):
            for batch in data:
                train_step(batch)
                joules = t.step().energy_j["total"]     # energy of this step
    print(t.result.emissions_kg, t.result.provenance)   # "measured", "estimated" or "mixed"
"""

import contextlib
import dataclasses
import os
import platform
import weakref

from greenai import _greenai

# Trackers alive in this process: a forked child abandons its copies (their sampler thread is
# the parent's), so the child neither crashes nor writes the parent's run.
_live = weakref.WeakSet()


def _abandon_in_child():
    for core in list(_live):
        core._abandon()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_abandon_in_child)


@dataclasses.dataclass
class Measurement:
    """Figures over a span (a step, a phase, the run): joules per component ("cpu", "ram", "gpu",
    "total") for the tracked process and for the whole machine, kg CO2eq, and where they come
    from: `provenance` is "measured", "estimated" or "mixed"; `sources` names each component's
    sensor or model."""

    duration_s: float
    energy_j: dict
    machine_energy_j: dict
    emissions_kg: float
    intensity_g_per_kwh: float
    provenance: str
    sources: dict
    phase: str = ""
    start_unix_s: float = 0.0
    end_unix_s: float = 0.0


class _Core:
    """One C++ tracker and the process it belongs to."""

    def __init__(self, **kwargs):
        self.pid = os.getpid()
        self.native = _greenai.Tracker(python_version=platform.python_version(), **kwargs)
        self.started = False
        self.stopped = False
        self.forked = False
        _live.add(self)

    def _abandon(self):
        if os.getpid() != self.pid and not self.forked:
            self.forked = True
            self.native.abandon()

    def usable(self):
        return not self.forked


def _measurement(record, info):
    return Measurement(
        duration_s=record["duration_s"],
        energy_j=dict(record["energy_j"]),
        machine_energy_j=dict(record["machine_energy_j"]),
        emissions_kg=record["emissions_kg"],
        intensity_g_per_kwh=record["intensity_g_per_kwh"],
        provenance=info["provenance"],
        sources=dict(info["sources"]),
        phase=record.get("phase", ""),
        start_unix_s=record.get("start_unix_s", 0.0),
        end_unix_s=record.get("end_unix_s", 0.0),
    )


class Tracker:
    """Tracks this process's energy and carbon with GreenAI's meter (RAPL, NVML, or a labelled
    estimate). Intensity: `intensity` (g/kWh) over `intensity_series` (a CSV of timestamped
    g/kWh) over `country` (ISO 3166 code) over the world average. `csv` appends GreenAI's
    CodeCarbon-compatible rows, one per interval; `prometheus` ("host:port", port 0 for any)
    serves /metrics. Raises greenai.Error for bad arguments before anything runs."""

    def __init__(self, project_name="greenai", experiment_id="", interval_s=1.0, pue=1.0,
                 country=None, intensity=None, intensity_series=None, csv=None,
                 prometheus=None, cpu_tdp_w=None):
        if not interval_s > 0:
            raise _greenai.Error(f"cannot track (interval_s={interval_s}): must be > 0")
        self._core = _Core(project_name=project_name, experiment_id=experiment_id,
                           interval_s=float(interval_s), pue=float(pue), country=country,
                           intensity=intensity, intensity_series=intensity_series, csv_path=csv,
                           csv_every_interval=True, whole_machine=False, prometheus=prometheus,
                           cpu_tdp_w=cpu_tdp_w)
        self.result = None

    @property
    def prometheus_port(self):
        return self._core.native.prometheus_port

    def info(self):
        """The run's identity and provenance: run_id, sources, intensity_source, cpu_model, ..."""
        return self._core.native.info()

    def start(self):
        self._core.native.start()
        self._core.started = True
        return self

    def stop(self):
        """Ends the run; returns its Measurement (also kept as .result)."""
        record = self._core.native.stop()
        self._core.stopped = True
        self.result = _measurement(record, self.info())
        return self.result

    def step(self):
        """The energy since the previous step() or start(), as a Measurement."""
        s = self._core.native.step()
        info = self.info()
        return Measurement(duration_s=s["duration_s"], energy_j=dict(s["energy_j"]),
                           machine_energy_j={}, emissions_kg=s["emissions_kg"],
                           intensity_g_per_kwh=0.0, provenance=info["provenance"],
                           sources=dict(info["sources"]))

    def so_far(self):
        """The run so far, as a Measurement."""
        return _measurement(self._core.native.cumulative(), self.info())

    @contextlib.contextmanager
    def phase(self, name):
        """A named phase (its own totals in phases() and the outputs)."""
        self._core.native.begin_phase(name)
        try:
            yield self
        finally:
            self._core.native.end_phase()

    def phases(self):
        info = self.info()
        return [_measurement(r, info) for r in self._core.native.phases()]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

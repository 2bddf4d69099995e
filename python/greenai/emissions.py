"""CodeCarbon's tracker API on GreenAI's C++ meter: EmissionsTracker, OfflineEmissionsTracker,
track_emissions and EmissionsData, with CodeCarbon's argument names, defaults, return values,
configuration precedence (~/.codecarbon.config < ./.codecarbon.config < CODECARBON_* environment
variables < arguments) and emissions.csv columns (GreenAI's provenance columns follow them).

An argument GreenAI does not support raises greenai.Error naming it; none is silently ignored.
"""

import configparser
import dataclasses
import functools
import logging
import os
import platform
import time

from greenai import _greenai
from greenai.tracker import _Core

logger = logging.getLogger("greenai")

# CodeCarbon's defaults for the arguments GreenAI supports.
_DEFAULTS = {
    "project_name": "codecarbon",
    "measure_power_secs": 15.0,
    "output_dir": ".",
    "output_file": "emissions.csv",
    "save_to_file": True,
    "country_iso_code": None,
    "pue": 1.0,
    "tracking_mode": "machine",
    "force_carbon_intensity_g_co2e_kwh": None,
    "experiment_id": "5b0fa12a-3dd7-45bb-9766-cc326314d9f1",
    "log_level": "info",
    "on_csv_write": "append",
    "default_cpu_power": None,
    "allow_multiple_runs": True,
    "gpu_ids": None,
    "save_to_api": False,
    "save_to_logger": False,
    "save_to_prometheus": False,
    "save_to_logfire": False,
}
# The type each supported value is read as from a config file or the environment.
_TYPES = {
    "project_name": str, "measure_power_secs": float, "output_dir": str, "output_file": str,
    "save_to_file": bool, "country_iso_code": str, "pue": float, "tracking_mode": str,
    "force_carbon_intensity_g_co2e_kwh": float, "experiment_id": str, "log_level": str,
    "on_csv_write": str, "default_cpu_power": float, "allow_multiple_runs": bool,
    "gpu_ids": str, "save_to_api": bool, "save_to_logger": bool, "save_to_prometheus": bool,
    "save_to_logfire": bool,
}
# CodeCarbon's arguments GreenAI does not take, and what to do instead.
_UNSUPPORTED = {
    "api_call_interval": "GreenAI sends nothing to an API; remove it",
    "api_endpoint": "GreenAI sends nothing to an API; remove it",
    "api_key": "GreenAI sends nothing to an API; remove it",
    "emissions_endpoint": "GreenAI sends nothing to an API; remove it",
    "co2_signal_api_token": "GreenAI reads no online intensity; give country_iso_code or "
                            "force_carbon_intensity_g_co2e_kwh",
    "electricitymaps_api_token": "GreenAI reads no online intensity; give country_iso_code or "
                                 "force_carbon_intensity_g_co2e_kwh",
    "logging_logger": "GreenAI logs to the 'greenai' logging logger; remove it",
    "output_handlers": "GreenAI writes emissions.csv (and greenai.Tracker serves Prometheus); "
                       "remove it",
    "prometheus_url": "greenai.Tracker(prometheus='host:port') serves /metrics instead of "
                      "pushing to a gateway",
    "region": "GreenAI's intensities are per country; remove it",
    "cloud_provider": "GreenAI's intensities are per country; remove it",
    "cloud_region": "GreenAI's intensities are per country; remove it",
    "country_2letter_iso_code": "give the 3-letter country_iso_code",
    "force_cpu_power": "give default_cpu_power (the CPU's power at full load)",
    "force_ram_power": "GreenAI models RAM power from its size; remove it",
    "rapl_include_dram": "GreenAI reads RAPL's DRAM domain when it exists; remove it",
    "rapl_prefer_psys": "GreenAI reads the package domains; remove it",
    "experiment_name": "give experiment_id",
    "logger_preamble": "remove it",
}
_FALSE_ONLY = {
    "save_to_api": "GreenAI sends nothing to an API",
    "save_to_logger": "GreenAI writes emissions.csv only",
    "save_to_prometheus": "greenai.Tracker(prometheus='host:port') serves /metrics instead",
    "save_to_logfire": "GreenAI writes emissions.csv only",
}
_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
               "error": logging.ERROR, "critical": logging.CRITICAL}


def _convert(name, text, where):
    kind = _TYPES[name]
    if kind is bool:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise _greenai.Error(f"cannot read {name} from {where} ({name}={text}): not a boolean "
                             "(use true or false)")
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise _greenai.Error(f"cannot read {name} from {where} ({name}={text}): not a number")
    return text


def _check_name(name, where):
    if name in _UNSUPPORTED:
        raise _greenai.Error(f"cannot track emissions ({name}, from {where}): not supported by "
                             f"GreenAI ({_UNSUPPORTED[name]})")
    if name not in _DEFAULTS:
        raise _greenai.Error(f"cannot track emissions ({name}, from {where}): not a CodeCarbon "
                             "tracker argument GreenAI knows (check the spelling)")


def _from_file(path, settings, sources):
    if not os.path.isfile(path):
        return
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error as e:
        raise _greenai.Error(f"cannot read the config file {path}: {e}".splitlines()[0])
    if not parser.has_section("codecarbon"):
        return
    for name, text in parser.items("codecarbon"):
        _check_name(name, path)
        settings[name] = _convert(name, text, path)
        sources[name] = path


def resolve_settings(arguments, offline):
    """CodeCarbon's precedence: defaults < ~/.codecarbon.config < ./.codecarbon.config <
    CODECARBON_* environment variables < arguments. Returns (settings, where each came from)."""
    settings = dict(_DEFAULTS)
    sources = {name: "default" for name in settings}
    _from_file(os.path.join(os.path.expanduser("~"), ".codecarbon.config"), settings, sources)
    _from_file(os.path.join(os.getcwd(), ".codecarbon.config"), settings, sources)
    for key, text in os.environ.items():
        if not key.startswith("CODECARBON_"):
            continue
        name = key[len("CODECARBON_"):].lower()
        _check_name(name, "environment variable " + key)
        settings[name] = _convert(name, text, "environment variable " + key)
        sources[name] = "environment variable " + key
    for name, value in arguments.items():
        _check_name(name, "arguments")
        settings[name] = value
        sources[name] = "arguments"
    for name, why in _FALSE_ONLY.items():
        if settings[name]:
            raise _greenai.Error(f"cannot track emissions ({name}=True, from {sources[name]}): "
                                 f"not supported ({why})")
    if offline and not settings["country_iso_code"] and \
            settings["force_carbon_intensity_g_co2e_kwh"] is None:
        raise _greenai.Error("cannot track emissions offline: give country_iso_code (3 letters, "
                             "such as FRA) or force_carbon_intensity_g_co2e_kwh")
    if settings["gpu_ids"] not in (None, "", []):
        raise _greenai.Error(f"cannot track emissions (gpu_ids, from {sources['gpu_ids']}): not "
                             "supported (GreenAI meters every GPU NVML sees; remove it)")
    return settings, sources


@dataclasses.dataclass
class EmissionsData:
    """CodeCarbon's EmissionsData: the run's (or a task's) figures, emissions.csv's columns.
    Energies in kWh, powers in W, emissions in kg CO2eq, durations in s, RAM in GB. GreenAI adds
    energy_provenance ("measured", "estimated" or "mixed") and intensity_source."""

    timestamp: str
    project_name: str
    run_id: str
    experiment_id: str
    duration: float
    emissions: float
    emissions_rate: float
    cpu_power: float
    gpu_power: float
    ram_power: float
    cpu_energy: float
    gpu_energy: float
    ram_energy: float
    energy_consumed: float
    country_name: str
    country_iso_code: str
    region: str
    cloud_provider: str
    cloud_region: str
    os: str
    python_version: str
    codecarbon_version: str
    cpu_count: float
    cpu_model: str
    gpu_count: float
    gpu_model: str
    longitude: float
    latitude: float
    ram_total_size: float
    tracking_mode: str
    on_cloud: str = "N"
    pue: float = 1.0
    water_consumed: float = 0.0
    wue: float = 0.0
    energy_provenance: str = ""
    intensity_source: str = ""

    @property
    def values(self):
        return dataclasses.asdict(self)


_KWH = 3.6e6


def _emissions_data(record, info, whole_machine):
    energy = record["machine_energy_j"] if whole_machine else record["energy_j"]
    duration = record["duration_s"]
    emissions = (energy["total"] / _KWH * info["pue"] * record["intensity_g_per_kwh"] / 1000
                 if whole_machine else record["emissions_kg"])
    power = (lambda c: energy[c] / duration if duration > 0 else 0.0)
    return EmissionsData(
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record["end_unix_s"])),
        project_name=info["project_name"], run_id=info["run_id"],
        experiment_id=info["experiment_id"], duration=duration, emissions=emissions,
        emissions_rate=emissions / duration if duration > 0 else 0.0,
        cpu_power=power("cpu"), gpu_power=power("gpu"), ram_power=power("ram"),
        cpu_energy=energy["cpu"] / _KWH, gpu_energy=energy["gpu"] / _KWH,
        ram_energy=energy["ram"] / _KWH, energy_consumed=energy["total"] / _KWH,
        country_name=info["country_name"], country_iso_code=info["country_iso_code"], region="",
        cloud_provider="", cloud_region="", os=platform.platform(),
        python_version=platform.python_version(), codecarbon_version="",
        cpu_count=info["cpu_count"], cpu_model=info["cpu_model"],
        gpu_count=len(info["gpu_names"]), gpu_model="; ".join(info["gpu_names"]),
        longitude=float("nan"), latitude=float("nan"),
        ram_total_size=info["ram_total_bytes"] / 2**30,
        tracking_mode="machine" if whole_machine else "process", pue=info["pue"],
        energy_provenance=info["provenance"], intensity_source=info["intensity_source"])


def _minus(later, earlier):
    """The span between two cumulative records."""
    out = dict(later)
    out["duration_s"] = later["duration_s"] - earlier["duration_s"]
    out["emissions_kg"] = later["emissions_kg"] - earlier["emissions_kg"]
    out["start_unix_s"] = earlier["end_unix_s"]
    for key in ("energy_j", "machine_energy_j"):
        out[key] = {c: later[key][c] - earlier[key][c] for c in later[key]}
    return out


class BaseEmissionsTracker:
    _offline = False

    def __init__(self, **arguments):
        settings, sources = resolve_settings(arguments, self._offline)
        self._settings = settings
        level = str(settings["log_level"]).lower()
        if level not in _LOG_LEVELS:
            raise _greenai.Error(f"cannot track emissions (log_level={settings['log_level']}, "
                                 f"from {sources['log_level']}): use one of "
                                 + ", ".join(_LOG_LEVELS))
        logger.setLevel(_LOG_LEVELS[level])
        mode = settings["tracking_mode"]
        if mode not in ("machine", "process"):
            raise _greenai.Error(f"cannot track emissions (tracking_mode={mode}, from "
                                 f"{sources['tracking_mode']}): use machine or process")
        if settings["on_csv_write"] != "append":
            raise _greenai.Error(f"cannot track emissions (on_csv_write="
                                 f"{settings['on_csv_write']}): GreenAI appends a row per run "
                                 "(use append)")
        if not float(settings["measure_power_secs"]) > 0:
            raise _greenai.Error(f"cannot track emissions (measure_power_secs="
                                 f"{settings['measure_power_secs']}): must be > 0")
        if not float(settings["pue"]) >= 1:
            raise _greenai.Error(f"cannot track emissions (pue={settings['pue']}): must be >= 1")
        self._whole_machine = mode == "machine"
        csv_path = None
        if settings["save_to_file"]:
            out_dir = settings["output_dir"]
            if not os.path.isdir(out_dir):
                raise _greenai.Error(f"cannot track emissions (output_dir={out_dir}): no such "
                                     "folder (create it first)")
            csv_path = os.path.join(out_dir, settings["output_file"])
        self._csv_path = csv_path
        intensity = settings["force_carbon_intensity_g_co2e_kwh"]
        self._core = _Core(project_name=str(settings["project_name"]),
                           experiment_id=str(settings["experiment_id"]),
                           interval_s=float(settings["measure_power_secs"]),
                           pue=float(settings["pue"]), country=settings["country_iso_code"],
                           intensity=None if intensity is None else float(intensity),
                           csv_path=csv_path, csv_every_interval=False,
                           whole_machine=self._whole_machine,
                           cpu_tdp_w=None if settings["default_cpu_power"] is None
                           else float(settings["default_cpu_power"]))
        self._task = None
        self._tasks = {}
        self.final_emissions_data = None
        self.final_emissions = None

    def _usable(self, what):
        if not self._core.usable():
            logger.warning("greenai: %s ignored: this tracker was started in process %d, and "
                           "this is a forked child", what, self._core.pid)
            return False
        return True

    def start(self):
        """Starts measuring (a second start() is ignored, as CodeCarbon does)."""
        if not self._usable("start()"):
            return
        if self._core.started:
            logger.warning("greenai: start() ignored: the tracker is already running")
            return
        self._core.native.start()
        self._core.started = True

    def _data(self, record):
        return _emissions_data(record, self._core.native.info(), self._whole_machine)

    def flush(self):
        """Writes a row of the run so far to emissions.csv and returns its emissions (kg)."""
        if not self._usable("flush()") or not self._core.started or self._core.stopped:
            return None
        return self._data(self._core.native.flush()).emissions

    def start_task(self, task_name=None):
        """Starts a named task (a phase of the run: its own figures from stop_task())."""
        if not self._usable("start_task()"):
            return
        if not self._core.started:
            self.start()
        if self._task is not None:
            raise _greenai.Error(f"cannot start task {task_name!r}: task {self._task[0]!r} is "
                                 "running (stop_task() first)")
        name = task_name or f"task_{len(self._tasks) + 1}"
        self._core.native.begin_phase(name)
        self._task = (name, self._core.native.cumulative())

    def stop_task(self, task_name=None):
        """Ends the running task; returns its EmissionsData."""
        if not self._usable("stop_task()"):
            return None
        if self._task is None:
            raise _greenai.Error("cannot stop a task: none is running (start_task() first)")
        name, before = self._task
        if task_name is not None and task_name != name:
            raise _greenai.Error(f"cannot stop task {task_name!r}: the running task is {name!r}")
        after = self._core.native.cumulative()
        self._core.native.end_phase()
        self._task = None
        span = _minus(after, before)
        span["phase"] = name
        data = self._data(span)
        self._tasks[name] = data
        return data

    def stop(self):
        """Ends the run, writes its row to emissions.csv and returns its emissions (kg CO2eq);
        None (with a warning) when the tracker was not started."""
        if not self._usable("stop()"):
            return None
        if not self._core.started or self._core.stopped:
            logger.warning("greenai: stop() ignored: the tracker is not running")
            return None
        if self._task is not None:
            self.stop_task()
        record = self._core.native.stop()
        self._core.stopped = True
        self.final_emissions_data = self._data(record)
        self.final_emissions = self.final_emissions_data.emissions
        return self.final_emissions

    def get_detected_hardware(self):
        """The sensors and models behind the figures (GreenAI's provenance)."""
        info = self._core.native.info()
        return {"cpu_count": info["cpu_count"], "cpu_model": info["cpu_model"],
                "gpu_count": len(info["gpu_names"]), "gpu_model": info["gpu_names"],
                "ram_total_size": info["ram_total_bytes"] / 2**30, "sources": info["sources"],
                "energy_provenance": info["provenance"]}

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        # The run is written even when the block raised; the exception goes on.
        self.stop()
        return False


class EmissionsTracker(BaseEmissionsTracker):
    """CodeCarbon's EmissionsTracker. Without country_iso_code or
    force_carbon_intensity_g_co2e_kwh, GreenAI applies the world average intensity (and says so
    in intensity_source): it looks nothing up online."""


class OfflineEmissionsTracker(BaseEmissionsTracker):
    """CodeCarbon's OfflineEmissionsTracker: country_iso_code (3 letters) gives the intensity."""

    _offline = True


def track_emissions(fn=None, *, offline=False, **arguments):
    """CodeCarbon's decorator: the function's run is tracked (and written) even when it raises.
    `@track_emissions` or `@track_emissions(project_name=..., offline=True,
    country_iso_code="FRA", ...)`."""

    def decorate(function):
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            tracker = (OfflineEmissionsTracker if offline else EmissionsTracker)(**arguments)
            tracker.start()
            try:
                return function(*args, **kwargs)
            finally:
                tracker.stop()

        return wrapped

    if fn is not None and callable(fn):
        return decorate(fn)
    return decorate

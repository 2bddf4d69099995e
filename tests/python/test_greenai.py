"""The Python package: CodeCarbon's tracker API (every supported argument, the config
precedence, the decorator, tasks, exceptions in the block, fork, threads, the CSV), unsupported
arguments' errors, a CodeCarbon-style script with only its import switched, and GreenAI's own
Tracker. Run by CTest with no energy counters (the meter's estimate) and HOME in a scratch folder.
"""
import csv
import os
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.request

import greenai
from greenai.codecarbon import EmissionsTracker, OfflineEmissionsTracker, track_emissions

HERE = os.path.dirname(os.path.abspath(__file__))

# CodeCarbon's emissions.csv columns, in its order (its documentation's output section).
CODECARBON_COLUMNS = [
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions",
    "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy",
    "ram_energy", "energy_consumed", "water_consumed", "country_name", "country_iso_code",
    "region", "cloud_provider", "cloud_region", "os", "python_version", "codecarbon_version",
    "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude",
    "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue"]


def burn(seconds=0.05):
    """Busy CPU for a while (the estimator attributes energy by CPU time)."""
    import time
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class Scratch(unittest.TestCase):
    """Each test in its own folder and HOME, with no CODECARBON_* variables."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.home = os.path.join(self.dir.name, "home")
        self.work = os.path.join(self.dir.name, "work")
        os.makedirs(self.home)
        os.makedirs(self.work)
        self.saved_env = dict(os.environ)
        for key in list(os.environ):
            if key.startswith("CODECARBON_"):
                del os.environ[key]
        os.environ["HOME"] = self.home
        self.saved_cwd = os.getcwd()
        os.chdir(self.work)

    def tearDown(self):
        os.chdir(self.saved_cwd)
        os.environ.clear()
        os.environ.update(self.saved_env)
        self.dir.cleanup()

    def csv_path(self):
        return os.path.join(self.work, "emissions.csv")


class CodeCarbonApi(Scratch):
    def test_start_stop_returns_kg_and_writes_one_row(self):
        tracker = EmissionsTracker(measure_power_secs=1)
        tracker.start()
        burn()
        kg = tracker.stop()
        self.assertIsInstance(kg, float)
        self.assertGreater(kg, 0)
        data = tracker.final_emissions_data
        self.assertEqual(tracker.final_emissions, kg)
        self.assertEqual(data.emissions, kg)
        self.assertEqual(data.project_name, "codecarbon")  # CodeCarbon's default
        self.assertEqual(data.tracking_mode, "machine")
        self.assertEqual(data.energy_provenance, "estimated")
        self.assertAlmostEqual(data.energy_consumed,
                               data.cpu_energy + data.gpu_energy + data.ram_energy, places=15)
        (row,) = rows(self.csv_path())
        self.assertEqual(row["row_kind"], "final")
        self.assertAlmostEqual(float(row["emissions"]), kg, delta=kg * 1e-6)
        self.assertEqual(row["run_id"], data.run_id)
        self.assertIsNone(tracker.stop())  # a second stop() is ignored, as CodeCarbon does

    def test_every_supported_argument(self):
        out = os.path.join(self.work, "out")
        os.makedirs(out)
        tracker = OfflineEmissionsTracker(
            project_name="p", measure_power_secs=0.2, output_dir=out, output_file="e.csv",
            save_to_file=True, country_iso_code="FRA", pue=1.5, tracking_mode="process",
            experiment_id="exp-1", log_level="debug", on_csv_write="append",
            default_cpu_power=100, allow_multiple_runs=True, gpu_ids=None, save_to_api=False,
            save_to_logger=False, save_to_prometheus=False)
        tracker.start()
        burn(0.3)
        kg = tracker.stop()
        data = tracker.final_emissions_data
        self.assertEqual(data.country_iso_code, "FRA")
        self.assertEqual(data.tracking_mode, "process")
        self.assertEqual(data.pue, 1.5)
        self.assertEqual(data.experiment_id, "exp-1")
        self.assertEqual(greenai.emissions.logger.level, 10)  # debug
        # emissions = kWh x PUE x France's intensity (under 100 g/kWh)
        g_per_kwh = kg * 1000 / (data.energy_consumed * 1.5)
        self.assertLess(g_per_kwh, 100)
        (row,) = rows(os.path.join(out, "e.csv"))
        self.assertEqual(row["project_name"], "p")
        self.assertEqual(row["tracking_mode"], "process")
        self.assertFalse(os.path.exists(self.csv_path()))

    def test_forced_intensity_and_save_to_file_false(self):
        tracker = EmissionsTracker(force_carbon_intensity_g_co2e_kwh=100, save_to_file=False,
                                   pue=2.0)
        tracker.start()
        burn()
        kg = tracker.stop()
        data = tracker.final_emissions_data
        self.assertAlmostEqual(kg, data.energy_consumed * 2.0 * 100 / 1000, delta=kg * 1e-6)
        self.assertFalse(os.path.exists(self.csv_path()))

    def test_machine_mode_counts_at_least_the_process(self):
        tracker = EmissionsTracker(tracking_mode="process", save_to_file=False)
        machine = EmissionsTracker(tracking_mode="machine", save_to_file=False)
        tracker.start()
        machine.start()
        burn(0.2)
        tracker.stop()
        machine.stop()
        self.assertGreaterEqual(machine.final_emissions_data.energy_consumed * 1.05,
                                tracker.final_emissions_data.energy_consumed)

    def test_config_precedence_files_environment_arguments(self):
        with open(os.path.join(self.home, ".codecarbon.config"), "w") as f:
            f.write("[codecarbon]\nproject_name = global\nmeasure_power_secs = 3\npue = 1.2\n")
        tracker = EmissionsTracker(save_to_file=False)
        self.assertEqual(tracker._settings["project_name"], "global")
        self.assertEqual(tracker._settings["measure_power_secs"], 3.0)
        with open(os.path.join(self.work, ".codecarbon.config"), "w") as f:
            f.write("[codecarbon]\nproject_name = local\nsave_to_file = false\n")
        tracker = EmissionsTracker()
        self.assertEqual(tracker._settings["project_name"], "local")
        self.assertEqual(tracker._settings["pue"], 1.2)  # still the global file's
        self.assertFalse(tracker._settings["save_to_file"])
        os.environ["CODECARBON_PROJECT_NAME"] = "env"
        os.environ["CODECARBON_PUE"] = "1.3"
        tracker = EmissionsTracker()
        self.assertEqual(tracker._settings["project_name"], "env")
        self.assertEqual(tracker._settings["pue"], 1.3)
        tracker = EmissionsTracker(project_name="argument")
        self.assertEqual(tracker._settings["project_name"], "argument")
        tracker.start()
        tracker.stop()
        self.assertEqual(tracker.final_emissions_data.project_name, "argument")
        self.assertEqual(tracker.final_emissions_data.pue, 1.3)

    def test_unsupported_arguments_name_themselves(self):
        cases = [({"api_key": "x"}, "api_key"), ({"gpu_ids": [0]}, "gpu_ids"),
                 ({"save_to_api": True}, "save_to_api"),
                 ({"on_csv_write": "update"}, "on_csv_write"),
                 ({"tracking_mode": "gpu"}, "tracking_mode"),
                 ({"log_level": "loud"}, "log_level"),
                 ({"measure_power_secs": 0}, "measure_power_secs"),
                 ({"output_dir": "/nonexistent/dir"}, "output_dir"),
                 ({"projct_name": "typo"}, "projct_name")]
        for kwargs, name in cases:
            with self.assertRaises(greenai.Error) as caught:
                EmissionsTracker(**kwargs)
            self.assertIn(name, str(caught.exception))
        with self.assertRaises(greenai.Error) as caught:
            OfflineEmissionsTracker()
        self.assertIn("country_iso_code", str(caught.exception))
        os.environ["CODECARBON_API_KEY"] = "x"
        with self.assertRaises(greenai.Error) as caught:
            EmissionsTracker()
        self.assertIn("CODECARBON_API_KEY", str(caught.exception))
        del os.environ["CODECARBON_API_KEY"]
        with open(os.path.join(self.work, ".codecarbon.config"), "w") as f:
            f.write("[codecarbon]\napi_endpoint = http://example\n")
        with self.assertRaises(greenai.Error) as caught:
            EmissionsTracker()
        self.assertIn(".codecarbon.config", str(caught.exception))
        self.assertIn("api_endpoint", str(caught.exception))

    def test_decorator_with_and_without_arguments(self):
        @track_emissions
        def plain():
            burn()
            return 42

        @track_emissions(project_name="decorated", offline=True, country_iso_code="DEU")
        def failing():
            burn()
            raise ValueError("boom")

        self.assertEqual(plain(), 42)
        with self.assertRaises(ValueError):
            failing()
        written = rows(self.csv_path())
        self.assertEqual([r["project_name"] for r in written], ["codecarbon", "decorated"])
        self.assertEqual(written[1]["country_iso_code"], "DEU")

    def test_tasks(self):
        tracker = EmissionsTracker(save_to_file=False)
        tracker.start_task("load")
        burn()
        load = tracker.stop_task()
        tracker.start_task("train")
        with self.assertRaises(greenai.Error):
            tracker.start_task("another")
        burn(0.1)
        train = tracker.stop_task("train")
        with self.assertRaises(greenai.Error):
            tracker.stop_task()
        total = tracker.stop()
        for task in (load, train):
            self.assertGreater(task.duration, 0)
            self.assertGreater(task.energy_consumed, 0)
        self.assertGreater(train.duration, load.duration)
        self.assertGreaterEqual(total * 1.000001, load.emissions + train.emissions)

    def test_exception_in_the_block_still_writes_the_run(self):
        with self.assertRaises(RuntimeError):
            with EmissionsTracker(project_name="crash") as tracker:
                burn()
                raise RuntimeError("inside")
        self.assertIsNotNone(tracker.final_emissions_data)
        (row,) = rows(self.csv_path())
        self.assertEqual(row["project_name"], "crash")

    def test_flush_writes_the_run_so_far(self):
        tracker = EmissionsTracker()
        tracker.start()
        burn()
        so_far = tracker.flush()
        burn()
        total = tracker.stop()
        flush_row, final_row = rows(self.csv_path())
        self.assertEqual(flush_row["row_kind"], "flush")
        self.assertEqual(final_row["row_kind"], "final")
        self.assertLess(so_far, total)

    def test_csv_has_codecarbons_columns_first(self):
        with EmissionsTracker():
            burn()
        with open(self.csv_path(), newline="") as f:
            header = next(csv.reader(f))
        self.assertEqual(header[:len(CODECARBON_COLUMNS)], CODECARBON_COLUMNS)
        self.assertIn("energy_provenance", header[len(CODECARBON_COLUMNS):])

    def test_threads_share_the_process(self):
        tracker = EmissionsTracker(tracking_mode="process", save_to_file=False)
        tracker.start()
        workers = [threading.Thread(target=burn, args=(0.1,)) for _ in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        tracker.stop()
        self.assertGreater(tracker.final_emissions_data.energy_consumed, 0)

    def test_fork_leaves_the_run_to_the_parent(self):
        tracker = EmissionsTracker(measure_power_secs=0.05)
        tracker.start()
        burn()
        pid = os.fork()
        if pid == 0:  # the child: the parent's tracker is inert here and writes nothing
            ok = tracker.stop() is None and tracker.flush() is None
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        burn()
        self.assertGreater(tracker.stop(), 0)
        self.assertEqual(len(rows(self.csv_path())), 1)

    def test_a_codecarbon_script_runs_with_only_its_import_switched(self):
        with open(os.path.join(HERE, "codecarbon_style_train.py")) as f:
            source = f.read()
        switched = source.replace("from codecarbon import", "from greenai.codecarbon import")
        self.assertEqual(len(switched.splitlines()), len(source.splitlines()))
        self.assertEqual(sum(a != b for a, b in zip(source.splitlines(), switched.splitlines())),
                         1)
        script = os.path.join(self.work, "train.py")
        with open(script, "w") as f:
            f.write(switched)
        run = subprocess.run([sys.executable, script, self.work], capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("accuracy", run.stdout)
        written = rows(self.csv_path())
        self.assertEqual([r["project_name"] for r in written],
                         ["cc_style_train", "cc_style_eval", "cc_style_predict"])
        for r in written:
            self.assertGreater(float(r["energy_consumed"]), 0)
            self.assertGreater(float(r["emissions"]), 0)


class GreenAiApi(Scratch):
    def test_phases_steps_and_provenance(self):
        with greenai.Tracker(project_name="own", interval_s=0.05, intensity=200) as t:
            with t.phase("a"):
                burn()
                step = t.step()
            with t.phase("b"):
                burn()
        self.assertGreater(step.energy_j["total"], 0)
        self.assertEqual(step.provenance, "estimated")
        self.assertEqual([p.phase for p in t.phases()], ["a", "b"])
        self.assertEqual(t.result.provenance, "estimated")
        self.assertIn("estimator", t.result.sources["cpu"]["sensor"])
        self.assertAlmostEqual(t.result.intensity_g_per_kwh, 200)

    def test_intensity_series(self):
        import time
        series = os.path.join(self.work, "grid.csv")
        hour = int(time.time()) // 3600 * 3600
        with open(series, "w") as f:
            f.write("timestamp,g_per_kwh\n")
            for h in range(-2, 3):
                f.write(f"{hour + 3600 * h},{300 + h}\n")
        with greenai.Tracker(intensity_series=series, interval_s=0.05) as t:
            burn()
        self.assertGreaterEqual(t.result.intensity_g_per_kwh, 298)
        self.assertLessEqual(t.result.intensity_g_per_kwh, 302)
        self.assertIn("grid.csv", t.info()["intensity_source"])

    def test_prometheus_endpoint(self):
        t = greenai.Tracker(prometheus="127.0.0.1:0", interval_s=0.05)
        t.start()
        burn()
        port = t.prometheus_port
        self.assertGreater(port, 0)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        t.stop()
        self.assertIn(b"greenai_", text)

    def test_bad_arguments_raise_before_running(self):
        with self.assertRaises(greenai.Error):
            greenai.Tracker(interval_s=0)
        with self.assertRaises(greenai.Error):
            greenai.Tracker(country="Atlantis")
        with self.assertRaises(greenai.Error):
            greenai.Tracker(pue=0.5)


if __name__ == "__main__":
    unittest.main()

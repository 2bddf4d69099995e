"""GreenAI for Python: the energy and carbon of a workload from GreenAI's C++ meter (RAPL and
NVML counters where they exist, a labelled estimate where they do not).

CodeCarbon's tracker API, same names and arguments (see greenai.emissions):

    from greenai import EmissionsTracker          # or: from greenai.codecarbon import ...
    with EmissionsTracker(project_name="train") as tracker:
        train()
    tracker.final_emissions_data.energy_provenance   # "measured", "estimated" or "mixed"

GreenAI's own (see greenai.tracker): greenai.Tracker, with phases, steps, the provenance of every
figure, a Prometheus endpoint and carbon-intensity series.
"""

from greenai._greenai import Error, __version__
from greenai.emissions import (EmissionsData, EmissionsTracker, OfflineEmissionsTracker,
                               track_emissions)
from greenai.tracker import Measurement, Tracker

__all__ = ["Error", "EmissionsData", "EmissionsTracker", "Measurement",
           "OfflineEmissionsTracker", "Tracker", "track_emissions", "__version__"]

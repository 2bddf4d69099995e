"""`from greenai.codecarbon import EmissionsTracker` in place of `from codecarbon import
EmissionsTracker`: CodeCarbon's names on GreenAI's meter (greenai.emissions)."""

from greenai.emissions import (EmissionsData, EmissionsTracker, OfflineEmissionsTracker,
                               track_emissions)

__all__ = ["EmissionsData", "EmissionsTracker", "OfflineEmissionsTracker", "track_emissions"]

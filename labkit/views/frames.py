"""pandas tables of step results, for the notebooks."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from labkit.experiment import PLATFORMS
from labkit.results import Builder, IndexReport, Prediction, ServiceStatus
from labkit.views.text import state_text


def short(digest: str) -> str:
    """The first 12 hex digits of a digest, as docker prints image ids."""
    return digest.split(":", 1)[-1][:12]


def index_table(report: IndexReport) -> pd.DataFrame:
    """One row per index entry: platform, media type, kind, size, short digest."""
    return pd.DataFrame(
        [(e.platform, e.manifest.media_type, e.kind, e.manifest.size, short(e.manifest.digest)) for e in report.entries],
        columns=["platform", "media type", "kind", "size (bytes)", "digest"],
    )


def builders_table(builders: Sequence[Builder]) -> pd.DataFrame:
    """One row per builder: name, driver, status, and whether it lists both target platforms."""
    return pd.DataFrame(
        [(b.name, b.driver or "-", b.status, "yes" if set(PLATFORMS) <= set(b.platforms) else "no")
         for b in builders],
        columns=["builder", "driver", "status", f"lists {' and '.join(PLATFORMS)}"],
    )


def status_table(rows: Sequence[ServiceStatus]) -> pd.DataFrame:
    """One row per sandbox service and its state."""
    return pd.DataFrame([(row.service, state_text(row)) for row in rows], columns=["service", "state"])



def predictions_table(predictions: Sequence[Prediction]) -> pd.DataFrame:
    """One row per step: what the doctor predicts, and why."""
    return pd.DataFrame([(p.label, p.outcome, p.why) for p in predictions], columns=["step", "prediction", "why"])

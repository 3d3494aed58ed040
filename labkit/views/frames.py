"""Tables of step results for the notebooks: pandas underneath, shown without pandas' row numbers and never cut."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from labkit.experiment import PLATFORMS
from labkit.oci.index import IndexReport
from labkit.results import Builder, Prediction, ServiceStatus
from labkit.views.text import state_text


@dataclass(frozen=True)
class Table:
    """A DataFrame as a notebook shows it: an HTML table and a text table, both without the 0, 1, 2… index column,
    and with every cell in full (pandas cuts cells longer than 50 characters by default)."""

    frame: pd.DataFrame

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return str(self.frame.to_html(index=False))

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return str(self.frame.to_string(index=False))


def short(digest: str) -> str:
    """The first 12 hex digits of a digest, as docker prints image ids."""
    return digest.split(":", 1)[-1][:12]


def index_table(report: IndexReport) -> Table:
    """One row per index entry: platform, media type, kind, size, short digest."""
    return Table(pd.DataFrame(
        [(e.platform, e.manifest.media_type, e.kind, e.manifest.size, short(e.manifest.digest)) for e in report.entries],
        columns=["platform", "media type", "kind", "size (bytes)", "digest"],
    ))


def builders_table(builders: Sequence[Builder]) -> Table:
    """One row per builder: name, driver, status, and whether it lists both target platforms."""
    return Table(pd.DataFrame(
        [(b.name, b.driver or "-", b.status, "yes" if set(PLATFORMS) <= set(b.platforms) else "no")
         for b in builders],
        columns=["builder", "driver", "status", f"lists {' and '.join(PLATFORMS)}"],
    ))


def status_table(rows: Sequence[ServiceStatus]) -> Table:
    """One row per service and its state."""
    return Table(pd.DataFrame([(row.service, state_text(row)) for row in rows], columns=["service", "state"]))


def predictions_table(predictions: Sequence[Prediction]) -> Table:
    """One row per step: what the doctor predicts, and why (in full)."""
    return Table(pd.DataFrame([(p.label, p.outcome, p.why) for p in predictions], columns=["step", "prediction", "why"]))

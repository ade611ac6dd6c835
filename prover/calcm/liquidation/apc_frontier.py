"""The APC frontier: what each EMIR Art. 28 tool costs against how much it damps, over a grid.

Issue 14 asks for both "the 5-day rise of a fixed book's requirement is at most 1.5x in every
crash episode" and "the mean requirement with APC is at most 1.15x the mean without". This
module measures, for every tool of EMIR RTS 153/2013 Art. 28(1) over a grid of its setting,
the two numbers those targets bound, so that whether any setting meets both is a measured
fact rather than a claim about the published one.

Tools (:class:`ApcSetting`), each giving the daily requirement ``R_t`` of a fixed book from
the no-APC requirement ``M_t`` (:mod:`calcm.liquidation.apc`):

- ``floor`` phi: ``V = max(V_h, phi h var_floor)`` (Art. 28(1)(c) at phi >= 1; the published
  tool at phi = 1);
- ``stress`` w: ``V = (1 - w) V_h + w h var_stress`` (Art. 28(1)(b) at w >= 0.25);
- ``buffer`` b: ``R_t = max(M_t, min((1 + b) M_t, R_{t-1}))``, ``R_0 = (1 + b) M_0``
  (Art. 28(1)(a) at b >= 0.25): a buffer of b that a rise of ``M`` uses up and a fall rebuilds;
- ``floor+buffer`` b: the same buffer on top of the published floor's requirement.

The buffer depends on the path of ``R``, so the circuits could not prove it without registry
state; it is measured here, not published (docs/MODEL.md §4).

Per setting and book (:func:`frontier`): ``cost`` = mean over the full window's counted days of
``R_t / M_t``; ``swing`` = the largest ``R_t / R_{t-5}`` over the crash episodes' counted days.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..risk.model import ModelParams
from .apc import ApcWindow

FLOOR_WEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
STRESS_WEIGHTS = (0.25, 0.5, 0.75, 0.9)
BUFFERS = (0.25, 0.5, 1.0, 2.0)
#: Issue 14's targets: mean cost at most 1.15x, largest 5-day rise at most 1.5x.
TARGET_COST, TARGET_SWING, SWING_DAYS = 1.15, 1.5, 5
#: The smallest setting of each tool that EMIR RTS 153/2013 Art. 28(1) accepts.
EMIR_MINIMUM = {"floor": 1.0, "stress": 0.25, "buffer": 0.25, "floor+buffer": 0.25}


@dataclass(frozen=True)
class ApcSetting:
    """One tool at one setting: ``tool`` one of :data:`EMIR_MINIMUM`'s keys, ``value`` its phi, w or b."""

    tool: str
    value: float

    @property
    def name(self) -> str:
        return f"{self.tool} {self.value:g}"

    @property
    def emir(self) -> bool:
        """Whether EMIR Art. 28(1) accepts this setting (at least the tool's minimum)."""
        return self.value >= EMIR_MINIMUM[self.tool]

    def params(self, base: ModelParams) -> ModelParams | None:
        """The model parameters of a variance tool; None for the path-dependent buffers."""
        if self.tool == "floor":
            return replace(base, apc="floor", apc_floor_weight=self.value)
        if self.tool == "stress":
            return replace(base, apc="stress", apc_stress_weight=self.value)
        return None


def settings() -> list[ApcSetting]:
    """The grid: every floor weight, stressed weight and buffer size, in that order."""
    return ([ApcSetting("floor", v) for v in FLOOR_WEIGHTS] + [ApcSetting("stress", v) for v in STRESS_WEIGHTS]
            + [ApcSetting(t, v) for t in ("buffer", "floor+buffer") for v in BUFFERS])


def variance_grid(base: ModelParams | None = None) -> dict[str, ModelParams]:
    """name -> parameters of every variance tool of :func:`settings` (the ``grid`` of
    :func:`calcm.liquidation.apc.run_window`)."""
    b = base or ModelParams()
    return {s.name: s.params(b) for s in settings() if s.params(b) is not None}


def buffer_path(req: np.ndarray, b: float) -> np.ndarray:
    """(B, T) requirements with a buffer ``b`` >= 0 on ``req`` (B, T) > 0 (module docstring).

    Invariants: ``req <= R <= (1 + b) req`` and ``R_t <= max(req_t, R_{t-1})``: the buffer
    never lets the requirement fall below the model's, and a rise of ``R`` is never larger
    than the rise of ``req`` that caused it."""
    if b < 0:
        raise ValueError(f"buffer must be >= 0, got {b}")
    out = np.empty_like(req, dtype=float)
    out[:, 0] = (1 + b) * req[:, 0]
    for t in range(1, req.shape[1]):
        out[:, t] = np.maximum(req[:, t], np.minimum((1 + b) * req[:, t], out[:, t - 1]))
    return out


def setting_requirements(w: ApcWindow, s: ApcSetting) -> np.ndarray:
    """(B, T) requirements of setting ``s`` on window ``w`` (built with ``grid=variance_grid()``)."""
    if s.tool == "buffer":
        return buffer_path(w.req_none, s.value)
    if s.tool == "floor+buffer":
        return buffer_path(w.req_floor, s.value)
    return w.grid[s.name]


def frontier(full: ApcWindow, episodes: list[ApcWindow]) -> dict:
    """Cost on ``full`` and worst :data:`SWING_DAYS`-day swing over ``episodes`` of every setting.

    Books are matched by name; a book missing from a window is skipped there. ``feasible``
    names the settings that meet both targets on every book (an empty list: none does)."""
    books = [b for b in full.books if all(b in e.books for e in episodes)]
    rows, feasible = [], []
    sl = slice(full.first, None)
    for s in settings():
        cost = setting_requirements(full, s)[:, sl] / full.req_none[:, sl]
        row = {"setting": s.name, "tool": s.tool, "value": s.value, "emir": s.emir, "books": {}}
        for b in books:
            swings = {e.name: float(e.swing(setting_requirements(e, s), SWING_DAYS)[e.books.index(b)])
                      for e in episodes}
            worst = max(swings, key=swings.get)
            row["books"][b] = {"cost": float(np.mean(cost[full.books.index(b)])),
                               "swing": swings[worst], "worst_episode": worst}
        row["meets"] = all(r["cost"] <= TARGET_COST and r["swing"] <= TARGET_SWING for r in row["books"].values())
        rows.append(row)
        if row["meets"]:
            feasible.append(s.name)
    return {"targets": {"cost": TARGET_COST, "swing": TARGET_SWING, "swing_days": SWING_DAYS},
            "full_window": f"{full.start}..{full.end}", "episodes": [e.name for e in episodes],
            "books": books, "settings": rows, "feasible": feasible,
            "best": {b: _best(rows, b) for b in books}}


def _best(rows: list[dict], book: str) -> dict:
    """For one book: the smallest swing within the cost target, and the cheapest setting within
    the swing target (None where no setting of the grid gets there)."""
    def pick(ok, key):
        c = [r for r in rows if ok(r["books"][book])]
        r = min(c, key=lambda r: r["books"][book][key]) if c else None
        return None if r is None else {"setting": r["setting"], "emir": r["emir"], **r["books"][book]}
    return {"least_swing_within_cost": pick(lambda x: x["cost"] <= TARGET_COST, "swing"),
            "cheapest_within_swing": pick(lambda x: x["swing"] <= TARGET_SWING, "cost")}

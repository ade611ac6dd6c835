"""Hypothesis strategies shared by the risk tests: random fixed-point margin models.

A model is drawn in two steps: its structure (:func:`structures`: how many underlyings,
instruments, scenarios and collateral slots, and the kind and underlying of each), then its
values (:func:`margin_models_fx`), from element strategies the caller picks for its ranges.
"""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from calcm.risk.fixed_margin import MarginModelFx


@dataclass(frozen=True)
class Structure:
    """The shape of a :class:`~calcm.risk.fixed_margin.MarginModelFx`.

    U underlyings; n instruments, each with a kind (0 spot, 1 perp, 2 and 3 options) and an
    underlying in [0, U); S scenarios; m collateral slots, each an underlying or -1 (a
    stablecoin at 1 USD).
    """

    U: int
    n: int
    S: int
    m: int
    kinds: tuple[int, ...]
    under: tuple[int, ...]
    coll: tuple[int, ...]

    @property
    def n_opt(self) -> int:
        """The options among the instruments (kinds 2 and 3)."""
        return sum(kd >= 2 for kd in self.kinds)


@st.composite
def structures(draw, max_instruments: int, max_scenarios: int) -> Structure:
    """U in [1, 3], n in [1, ``max_instruments``], S in [1, ``max_scenarios``], m in [0, 3]."""
    U = draw(st.integers(1, 3))
    n = draw(st.integers(1, max_instruments))
    S = draw(st.integers(1, max_scenarios))
    m = draw(st.integers(0, 3))
    kinds = tuple(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    under = tuple(draw(st.lists(st.integers(0, U - 1), min_size=n, max_size=n)))
    coll = tuple(draw(st.lists(st.integers(-1, U - 1), min_size=m, max_size=m)))
    return Structure(U, n, S, m, kinds, under, coll)


@st.composite
def margin_models_fx(draw, s: Structure, *, price, value, haircut_bps, adv, liquidity_weight_bps,
                     im_buffer_bps, warn_buffer_bps, perp_move=st.just(0)) -> MarginModelFx:
    """A model of structure ``s``; each keyword is the strategy of one field's elements (``value``:
    the scenario P&L of the linear and option lines, the option marks and the option exposures).
    ``k_tail`` is drawn from [1, S]."""
    def elems(elem, size: int) -> tuple:
        return tuple(draw(st.lists(elem, min_size=size, max_size=size)))

    return MarginModelFx(
        price=elems(price, s.U),
        lin=tuple(elems(value, s.U) for _ in range(s.S)),
        opt=tuple(elems(value, s.n_opt) for _ in range(s.S)),
        opt_mark=elems(value, s.n_opt),
        opt_expo=elems(value, s.n_opt),
        haircut_bps=elems(haircut_bps, s.m),
        adv=elems(adv, s.U),
        liquidity_weight_bps=elems(liquidity_weight_bps, s.U),
        k_tail=draw(st.integers(1, s.S)),
        im_buffer_bps=draw(im_buffer_bps), warn_buffer_bps=draw(warn_buffer_bps),
        kinds=s.kinds, under=s.under, coll=s.coll, perp_move=elems(perp_move, s.U))

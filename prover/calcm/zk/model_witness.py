"""Model-circuit witnesses: circuit input from the fixed-point reference, checked before proving.

:func:`step_input`, :func:`reval_input` and :func:`part_input` turn a
:class:`~calcm.risk.modelfx.ModelStateFx`, prices and the
:class:`~calcm.risk.modelfx.ModelParamsFx` into the input JSON of ``ModelStep``,
``ModelReval`` and ``OptionPart`` and compute every public signal with the
Python reference (:mod:`calcm.risk.modelfx.update`). Values out of range raise
:class:`~calcm.fixedpoint.FixedPointRangeError` here, before any tool runs.

:func:`compute_checked_witness` runs the wasm witness calculator and compares
the public signals and every surviving intermediate (new variances, vols,
moves, scenario moves, option values, moneyness, scenario vol multipliers and their
reciprocals, P&L) with the reference through the
``.sym`` map; any difference raises :class:`~calcm.zk.witness.WitnessMismatch`
and nothing is proven.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..fixedpoint import FIELD_PRIME, to_field
from ..risk.modelfx import ModelParamsFx, ModelStateFx, horizon_variance, option_part, param_tree, reval, step
from ..risk.modelfx.paramhash import common_elements, shock_chunk, terms_elements, z_chunk
from .model_circuit import ModelCircuitConfig, pack_prices
from .witness import WitnessMismatch, calculate_witness
from .wtns import Witness, read_sym


class ConfigMismatch(ValueError):
    """The parameters' structure is not the one the circuit was compiled for."""


@dataclass(frozen=True)
class ModelExpected:
    """What the reference says one proof proves: public signals, and the reference result.

    ``result`` is a :class:`~calcm.risk.modelfx.LinearFx` (step, reval) or an
    :class:`~calcm.risk.modelfx.OptionPartFx` (option part); ``signals`` maps
    ``.sym`` names of intermediates to their reference values.
    """

    public: tuple[int, ...]
    names: tuple[str, ...]
    result: object
    signals: dict

    def public_dict(self) -> dict[str, int]:
        return dict(zip(self.names, self.public))


def check_config(config: ModelCircuitConfig, params: ModelParamsFx) -> None:
    want = ModelCircuitConfig.from_params(params, config.name, config.kind)
    if want != config:
        diff = [f for f in ("U", "S", "n", "m", "k", "C", "kinds", "under", "coll", "struct_id")
                if getattr(want, f) != getattr(config, f)]
        raise ConfigMismatch(f"parameters do not fit circuit {config.name!r}: {', '.join(diff)} differ")


def _fe(v: int) -> str:
    return str(to_field(v))


def _check(config, params, context):
    check_config(config, params)
    if not 0 <= context < FIELD_PRIME:
        raise ValueError("context must be a field element")


def _leaves(params: ModelParamsFx, zhead: bool = True) -> dict:
    """The hashed inputs: h_common's preimage, hs, ht and (step, reval: they hash every z chunk) the
    z-chunk heads ``zhead[u] = [A_u, B_u, F_u]``; an option part opens its one chunk whole (``zc``)."""
    tree = param_tree(params)
    out = {"common": [str(v) for v in common_elements(params)],
           "hs": [[str(v) for v in row] for row in tree.hs], "ht": [str(v) for v in tree.ht]}
    if zhead:
        out["zhead"] = [[str(v) for v in (params.horizon_a[u], params.horizon_b[u], params.horizon_floor[u])]
                        for u in range(params.n_assets)]
    return out


def _linear_signals(lin_fx, params: ModelParamsFx, sigma2, with_garch: bool) -> dict:
    """Reference intermediates by ``.sym`` name; ``sigma2[u]`` is the variance AssetMove used."""
    out = {}
    for u, a in enumerate(lin_fx.assets):
        fields = ("eps", "sigma2Next", "sigma", "move", "floor") if with_garch else ("sigma", "move", "floor")
        for f in fields:
            out[f"main.asset[{u}].{f}"] = getattr(a, "sigma2" if f == "sigma2Next" else f)
        out[f"main.asset[{u}].vf"] = horizon_variance(params, u, sigma2[u])
    for s, row in enumerate(lin_fx.lin):
        for u, v in enumerate(row):
            out[f"main.linear.lin[{s}][{u}]"] = v
    return out


def step_input(config: ModelCircuitConfig, state: ModelStateFx, prices, params: ModelParamsFx,
               context: int) -> tuple[dict, ModelExpected]:
    """``ModelStep`` input for the daily step from ``state`` to the closes ``prices``."""
    _check(config, params, context)
    res = step(state, prices, params)
    public = (state.commitment(), res.state.commitment(), res.lin_commitment, params.param_hash(), context,
              *pack_prices(res.prices))
    inp = {n: str(v) for n, v in zip(config.public_signals[:5], public)}
    inp.update(packedPrices=[str(v) for v in public[5:]], day=str(state.day),
               sigma2Prev=[_fe(v) for v in state.sigma2], pricePrev=[_fe(v) for v in state.price],
               price=[_fe(v) for v in res.prices], z=[[_fe(v) for v in row] for row in params.z],
               **_leaves(params))
    signals = _linear_signals(res, params, [a.sigma2 for a in res.assets], True)
    return inp, ModelExpected(public, config.public_signals, res, signals)


def reval_input(config: ModelCircuitConfig, state: ModelStateFx, prices, params: ModelParamsFx,
                context: int) -> tuple[dict, ModelExpected]:
    """``ModelReval`` input for the intraday revaluation of ``state`` at ``prices``."""
    _check(config, params, context)
    res = reval(state, prices, params)
    public = (state.commitment(), res.lin_commitment, params.param_hash(), context, *pack_prices(res.prices))
    inp = {n: str(v) for n, v in zip(config.public_signals[:4], public)}
    inp.update(packedPrices=[str(v) for v in public[4:]], day=str(state.day),
               sigma2=[_fe(v) for v in state.sigma2], statePrice=[_fe(v) for v in state.price],
               price=[_fe(v) for v in res.prices], z=[[_fe(v) for v in row] for row in params.z],
               **_leaves(params))
    return inp, ModelExpected(public, config.public_signals, res, _linear_signals(res, params, state.sigma2, False))


def part_input(config: ModelCircuitConfig, state: ModelStateFx, prices, params: ModelParamsFx,
               part: int, prev: int) -> tuple[dict, ModelExpected]:
    """``OptionPart`` input for part ``j = o C + c`` at ``(state, prices)`` from sponge state ``prev``."""
    _check(config, params, 0)
    o, c = divmod(part, params.chunks)
    res = option_part(state, prices, params, o, c, prev)
    prices = tuple(int(p) for p in prices)
    tree = param_tree(params)
    u = params.instruments[params.options[o]].underlying
    public = (state.commitment(), prev, res.next, tree.root, part, *pack_prices(prices))
    inp = {n: str(v) for n, v in zip(config.public_signals[:5], public)}
    inp.update(packedPrices=[str(v) for v in public[5:]], day=str(state.day),
               sigma2=[_fe(v) for v in state.sigma2], statePrice=[_fe(v) for v in state.price],
               price=[_fe(v) for v in prices], hz=[[str(h) for h in row] for row in tree.hz],
               zc=[str(v) for v in z_chunk(params, u, c)],
               shc=[str(v) for v in shock_chunk(params, u, c)], terms=[str(v) for v in terms_elements(params, o)],
               **_leaves(params, zhead=False))
    sig = {"main.am.vf": horizon_variance(params, u, state.sigma2[u]), "main.am.sigma": res.move.sigma,
           "main.am.move": res.move.move, "main.am.floor": res.move.floor,
           "main.base.value": res.base.value, "main.base.mark": res.mark, "main.base.expo": res.expo}
    sig["main.vol.mon.m"] = res.m
    for i, (ls, pn, (us, ws)) in enumerate(zip(res.lin, res.pnl, res.vol)):
        sig[f"main.scen[{i}].lin"] = ls
        sig[f"main.scen[{i}].pnl"] = pn
        sig[f"main.vol.sv[{i}].u"] = us
        sig[f"main.vol.sv[{i}].w"] = ws
        sig[f"main.vol.sv[{i}].r"] = 2**41 + us - 2 * us * ws      # w's pinned remainder (w itself is bits)
    return inp, ModelExpected(public, config.public_signals, res, sig)


#: Intermediates that must survive optimisation for the comparison to mean anything.
REQUIRED = {"step": ("main.asset[0].eps", "main.asset[0].sigma2Next", "main.asset[0].vf", "main.asset[0].move"),
            "reval": ("main.asset[0].vf", "main.asset[0].move"),
            "option": ("main.am.vf", "main.vol.mon.m", "main.vol.sv[0].r", "main.scen[0].pnl")}


def compare_witness(wit: Witness, sym: dict[str, int], expected: ModelExpected, kind: str) -> list[str]:
    """Every public signal and each surviving intermediate vs the reference (raises on a difference)."""
    compared = []
    for i, (name, want) in enumerate(zip(expected.names, expected.public)):
        idx = sym.get(f"main.{name}")
        if idx != i + 1:
            raise WitnessMismatch(f"public signal {name} is witness index {idx}, expected {i + 1}")
        if wit[idx] != want % FIELD_PRIME:
            raise WitnessMismatch(f"{name}: circuit {wit[idx]} != reference {want % FIELD_PRIME}")
        compared.append(name)
    for name, want in expected.signals.items():
        idx = sym.get(name)
        if idx is None:
            continue
        if wit[idx] != want % FIELD_PRIME:
            raise WitnessMismatch(f"{name}: circuit {wit[idx]} != reference {want % FIELD_PRIME}")
        compared.append(name)
    missing = [r for r in REQUIRED[kind] if r not in compared]
    if missing:
        raise WitnessMismatch(f"key intermediates {missing} are not in the witness (.sym)")
    return compared


def compute_checked_witness(wasm: Path, sym_path: Path, inp: dict, expected: ModelExpected, kind: str,
                            wtns_path: Path) -> tuple[Witness, list[str]]:
    """Calculate the witness and refuse (raise) unless it matches the reference."""
    wit = calculate_witness(wasm, inp, wtns_path)
    return wit, compare_witness(wit, read_sym(sym_path), expected, kind)

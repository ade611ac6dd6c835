"""Model-update witnesses: circuit input from the fixed-point model, checked before proving.

:func:`model_input` turns the previous :class:`~calcm.risk.model_fx.ModelStateFx`,
the block's prices, the :class:`~calcm.risk.model_fx.ModelParamsFx` and the
``context`` into the input JSON of ``ModelUpdate`` and computes every public
signal with the Python reference :func:`~calcm.risk.model_fx.update`. Values out
of range raise :class:`~calcm.fixedpoint.FixedPointRangeError` here, before any
tool runs.

:func:`compute_checked_witness` runs the wasm witness calculator and compares
the public signals and every surviving intermediate (new variances, vols, moves,
scenario moves, logs, d1/d2, N(d1)/N(d2), option values) with the reference
through the ``.sym`` map; any difference raises
:class:`~calcm.zk.witness.WitnessMismatch` and nothing is proven.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..fixedpoint import FIELD_PRIME, to_field
from ..risk.model_fx import ModelParamsFx, ModelStateFx, UpdateFx, update
from .model_circuit import ModelCircuitConfig, pack_prices
from .poseidon import model_commitment
from .witness import WitnessMismatch, calculate_witness
from .wtns import Witness, read_sym


class ConfigMismatch(ValueError):
    """The parameters' structure is not the one the circuit was compiled for."""


@dataclass(frozen=True)
class ModelExpected:
    """What the reference says one block proves: the public signals and the update itself."""

    public: tuple[int, ...]
    names: tuple[str, ...]
    update: UpdateFx

    def public_dict(self) -> dict[str, int]:
        return dict(zip(self.names, self.public))

    @property
    def new_state(self) -> ModelStateFx:
        return self.update.state


def check_config(config: ModelCircuitConfig, params: ModelParamsFx) -> None:
    want = ModelCircuitConfig.from_params(params, config.name)
    if want != config:
        diff = [f for f in ("U", "S", "n", "m", "k", "kinds", "under", "coll", "struct_id")
                if getattr(want, f) != getattr(config, f)]
        raise ConfigMismatch(f"parameters do not fit circuit {config.name!r}: {', '.join(diff)} differ")


def expected_public(state: ModelStateFx, prices, params: ModelParamsFx, context: int,
                    up: UpdateFx | None = None) -> tuple[int, ...]:
    """The public signals in the registry's order, from the reference."""
    up = up or update(state, prices, params)
    return (state.commitment(), up.state.commitment(), model_commitment(up.model), params.param_hash(),
            context, *pack_prices(prices))


def _fe(v: int) -> str:
    return str(to_field(v))


def model_input(config: ModelCircuitConfig, state: ModelStateFx, prices, params: ModelParamsFx,
                context: int) -> tuple[dict, ModelExpected]:
    """Circuit input JSON for one block, and the reference's expected outputs."""
    check_config(config, params)
    if not 0 <= context < FIELD_PRIME:
        raise ValueError("context must be a field element")
    prices = tuple(int(p) for p in prices)
    up = update(state, prices, params)
    public = expected_public(state, prices, params, context, up)
    names = config.public_signals
    inp: dict = {
        "prevStateCommitment": str(public[0]), "newStateCommitment": str(public[1]),
        "scenarioCommitment": str(public[2]), "paramHash": str(public[3]), "context": str(context),
        "packedPrices": [str(v) for v in public[5:]],
        "step": str(state.step), "sigma2Prev": [_fe(v) for v in state.sigma2],
        "pricePrev": [_fe(v) for v in state.price], "price": [_fe(v) for v in prices],
        "horizonDays": _fe(params.horizon_days), "sqrtH": _fe(params.sqrt_h),
        "imBufferBps": _fe(params.im_buffer_bps), "warnBufferBps": _fe(params.warn_buffer_bps),
        "minReturnBps": _fe(params.min_return_bps),
        "omega": [_fe(v) for v in params.omega], "alpha": [_fe(v) for v in params.alpha],
        "gamma": [_fe(v) for v in params.gamma], "beta": [_fe(v) for v in params.beta],
        "adv": [_fe(v) for v in params.adv], "weightBps": [_fe(v) for v in params.liquidity_weight_bps],
        "haircutBps": [_fe(c.haircut_bps) for c in params.collateral],
        "z": [[_fe(v) for v in row] for row in params.z],
    }
    if params.options:
        inp["volShock"] = [_fe(v) for v in params.vol_shock]
        inp["shockWeight"] = [_fe(v) for v in params.shock_weights]
        opts = [params.instruments[i] for i in params.options]
        inp["strike"] = [_fe(o.strike) for o in opts]
        inp["expiry"] = [_fe(o.expiry) for o in opts]
        inp["iv"] = [_fe(o.iv) for o in opts]
        for key, attr in (("lnK", "ln_k"), ("v", "v"), ("invV", "inv_v"), ("vAfter", "v_after"),
                          ("invVAfter", "inv_v_after")):
            inp[key] = [_fe(getattr(t, attr)) for t in params.option_terms]
    return inp, ModelExpected(public, names, up)


def reference_signals(expected: ModelExpected, params: ModelParamsFx) -> dict[str, int]:
    """Intermediates the circuit names, by ``.sym`` name, from the reference update."""
    up = expected.update
    out: dict[str, int] = {}
    for u, a in enumerate(up.assets):
        for sig, val in (("eps", a.eps), ("sigma2Next", a.sigma2), ("sigma", a.sigma),
                         ("move", a.move), ("floor", a.floor)):
            out[f"main.asset[{u}].{sig}"] = val
    for s, row in enumerate(up.lin):
        for u, v in enumerate(row):
            out[f"main.mv[{s}][{u}].lin"] = v
    for u in params.option_assets:
        out[f"main.lnP[{u}].out"] = up.ln_price[u]
        for s in range(params.n_scenarios):
            out[f"main.lnS[{s}][{u}].out"] = up.ln_scenario[s][u]
    for o, b in enumerate(up.base):
        for f in ("d1", "d2", "n1", "n2", "value"):
            out[f"main.base[{o}].{f}"] = getattr(b, f)
    for s, row in enumerate(up.scen):
        for o, b in enumerate(row):
            for f in ("d1", "d2", "n1", "n2", "value"):
                out[f"main.scen[{s}][{o}].{f}"] = getattr(b, f)
    out["main.model.commitment"] = expected.public[2]
    out["main.next.commitment"] = expected.public[1]
    out["main.params.hash"] = expected.public[3]
    return out


#: Intermediates that must survive optimisation for the comparison to mean anything.
REQUIRED = ("main.asset[0].eps", "main.asset[0].sigma2Next", "main.asset[0].sigma", "main.asset[0].move")


def compare_witness(wit: Witness, sym: dict[str, int], expected: ModelExpected,
                    params: ModelParamsFx) -> list[str]:
    """Every public signal and each surviving intermediate vs the reference.

    Returns the names compared; raises :class:`WitnessMismatch` on the first
    difference (naming the signal and both values).
    """
    compared = []
    for i, (name, want) in enumerate(zip(expected.names, expected.public)):
        idx = sym.get(f"main.{name}")
        if idx != i + 1:
            raise WitnessMismatch(f"public signal {name} is witness index {idx}, expected {i + 1}")
        if wit[idx] != want % FIELD_PRIME:
            raise WitnessMismatch(f"{name}: circuit {wit[idx]} != reference {want % FIELD_PRIME}")
        compared.append(name)
    for name, want in reference_signals(expected, params).items():
        idx = sym.get(name)
        if idx is None:
            continue
        if wit[idx] != want % FIELD_PRIME:
            raise WitnessMismatch(f"{name}: circuit {wit[idx]} != reference {want % FIELD_PRIME}")
        compared.append(name)
    missing = [r for r in REQUIRED if r not in compared]
    if missing:
        raise WitnessMismatch(f"key intermediates {missing} are not in the witness (.sym)")
    return compared


def compute_checked_witness(wasm: Path, sym_path: Path, inp: dict, expected: ModelExpected,
                            params: ModelParamsFx, wtns_path: Path) -> tuple[Witness, list[str]]:
    """Calculate the witness and refuse (raise) unless it matches the reference."""
    wit = calculate_witness(wasm, inp, wtns_path)
    return wit, compare_witness(wit, read_sym(sym_path), expected, params)

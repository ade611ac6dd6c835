"""The published model in exact fixed point: what ``circuits/model/`` proves, bit for bit.

Modules, by concern (docs/PROVING.md, docs/CIRCUITS.md §2):

- :mod:`.params`: :class:`ModelParamsFx` (shapes, structure, ranges, JSON);
  :mod:`.terms`: instruments, collateral, derived option constants;
  :mod:`.paramhash`: the parameter tree hash (§4);
- :mod:`.state`: :class:`ModelStateFx` ``(day, sigma2, price)`` (§5);
- :mod:`.step`: return, GJR-GARCH, volatility, scenario moves;
  :mod:`.options`: Black-76 values;
- :mod:`.update`: :func:`step`, :func:`reval`, :func:`option_part` and :func:`update`;
  :mod:`.commit`: ``linCommitment`` and the option sponge (§3);
- :mod:`.encode`: from the float risk model, genesis; :mod:`.floatref`: the float twin
  and the error bounds.
"""
from .commit import lin_commitment, lin_elements, opt_commitment, opt_segment, opt_sponge_step
from .constants import (KINDS, MODEL_DOMAIN, PARAM_DOMAIN, STATE_DOMAIN, STRUCT_DOMAIN)
from .encode import default_chunks, encode_instrument, encode_prices, genesis, params_from_risk_model
from .floatref import FloatUpdate, float_update, pnl_error_bound
from .options import OptionValueFx, black76_fx
from .paramhash import ParamTree, param_tree
from .params import ModelParamsFx
from .state import ModelStateFx
from .step import (AssetMoveFx, AssetStepFx, asset_move, asset_step, garch_step, horizon_variance, scenario_move,
                   simple_return)
from .terms import CollateralFx, InstrumentFx, OptionTermsFx, option_terms, reciprocal, vol_sqrt_time, vol_weight
from .update import LinearFx, OptionPartFx, UpdateFx, option_part, option_parts, reval, step, update

__all__ = [n for n in dir() if not n.startswith("_")]

"""Model transparency: the parameter hashes anyone can recompute from the published parameters.

Two hashes name the model:

- ``ModelParams.hash`` (float model, docs/MODEL.md sections 4 and 6):
  ``sha256(b"calcm-model-params-v1\\n" + canonical JSON)`` of every parameter,
  canonical = ``json.dumps(params, sort_keys=True, separators=(",", ":"))``;
- ``paramHash`` (what governance publishes on-chain and every model circuit binds,
  :meth:`calcm.risk.modelfx.ModelParamsFx.param_hash`): the parameter tree of
  docs/PROVING.md §4, Poseidon sponges (docs/ARCHITECTURE.md) over field elements::

      paramHash = sponge([PARAM_DOMAIN ("calcm-params-v4"), structure_id, h_common]
                         ++ hz[u][c] (u-major) ++ hs[u][c] (u-major, only with options) ++ ht[o])
      h_common  = sponge([h, isqrt(h * 2**64), im_buffer_bps, warn_buffer_bps, min_return_bps]
                         ++ per asset (omega, alpha, gamma, beta, adv, liquidity_weight_bps, perp_shock_bps)
                         ++ per collateral haircut_bps)
      hz[u][c]  = sponge([A_u, B_u, F_u] ++ z[s][u] for s in chunk c),  chunk c = [c S/C, (c+1) S/C)
      hs[u][c]  = sponge(vol_shock[s][u], skew_shock[s][u] for s in chunk c)
      ht[o]     = sponge(strike, expiry, iv, ln_k, v, 1/v, v_after, 1/v_after)

  signed values as field elements (``p - |x|``), with ``structure_id`` the
  sponge of ``[STRUCT_DOMAIN ("calcm-struct-v2"), U, S, n, m, k, C] + kind codes
  (spot 0, perp 1, call 2, put 3) + underlying indices + (collateral index + 1)``,
  and the horizon coefficients of asset u from its published GARCH parameters
  (:func:`horizon_coefficients`).
  The option constants are derived from (strike, expiry, iv) by the exact
  integer routines of :func:`calcm.risk.modelfx.option_terms`.

:func:`independent_param_hash` rebuilds that list from the *published JSON*
(the ``params`` of a model file) without calling ``ModelParamsFx.field_elements``,
so the audit is a second implementation of the documented encoding; the check
fails if the two disagree.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from ..fixedpoint import FIELD_PRIME
from .report import FAIL, PASS, Check, Timer

KIND_CODES = {"spot": 0, "perp": 1, "call": 2, "put": 3}


def _domain(tag: bytes) -> int:
    return int.from_bytes(tag, "big")


def horizon_coefficients(omega: int, alpha: int, gamma: int, beta: int, h: int, var_floor: int,
                         w_bps: int = 0, var_stress: int = 0) -> list[int]:
    """``[A, B, F]`` of one asset by the documented recipe (docs/PROVING.md §4), with
    ``rdiv(x, 32) = floor((x + 2**31) / 2**32)`` and ``phi = alpha + beta + ceil(gamma / 2)`` (2**32)::

        A = sum_{j<h} pw_j,  pw_0 = 2**32, pw_{j+1} = rdiv(pw_j phi, 32)
        B = sum_{j=1}^{h-1} c_j,  c_0 = 0, c_j = omega + rdiv(c_{j-1} phi, 32)
        F = h var_floor

    then the APC stressed weight ``w_bps`` (docs/MODEL.md §4; 0: none) folded in with
    ``rb(x) = floor((x + 5000) / 10**4)``: ``A := rb((10**4 - w) A)``,
    ``B := rb((10**4 - w) B + w h var_stress)``.
    """
    phi = alpha + beta - (-gamma // 2)
    pws = [2**32]
    cs = [0]
    for _ in range(h - 1):
        pws.append((pws[-1] * phi + 2**31) // 2**32)
        cs.append(omega + (cs[-1] * phi + 2**31) // 2**32)
    A = (sum(pws) * (10**4 - w_bps) + 5000) // 10**4
    B = (sum(cs) * (10**4 - w_bps) + w_bps * h * var_stress + 5000) // 10**4
    return [A, B, h * var_floor]


def independent_param_hash(published: dict) -> int:
    """``paramHash`` from a model file's ``params`` JSON, by the documented recipe above."""
    from ..poseidon import poseidon_sponge
    from ..risk.modelfx import InstrumentFx, option_terms

    def sponge(xs):
        return poseidon_sponge([int(v) % FIELD_PRIME for v in xs])

    p = published
    ins, col = p["instruments"], p["collateral"]
    U, S, n, m, C = len(p["assets"]), len(p["z"]), len(ins), len(col), int(p.get("chunks", 1))
    L = S // C
    struct = ([_domain(b"calcm-struct-v2"), U, S, n, m, int(p["k_tail"]), C]
              + [KIND_CODES[i["kind"]] for i in ins] + [int(i["underlying"]) for i in ins]
              + [int(c["underlying"]) + 1 for c in col])
    h = int(p["horizon_days"])
    common = [h, math.isqrt(h << 64), int(p["im_buffer_bps"]), int(p["warn_buffer_bps"]),
              int(p["min_return_bps"])]
    for u in range(U):
        common += [int(p[k][u]) for k in ("omega", "alpha", "gamma", "beta", "adv", "liquidity_weight_bps",
                                            "perp_shock_bps")]
    common += [int(c["haircut_bps"]) for c in col]
    top = [_domain(b"calcm-params-v4"), sponge(struct), sponge(common)]
    for u in range(U):
        head = horizon_coefficients(*(int(p[k][u]) for k in ("omega", "alpha", "gamma", "beta")), h,
                                    int(p["var_floor"][u]), int(p.get("apc_stress_weight_bps", 0)),
                                    int(p.get("var_stress", [0] * U)[u]))
        top += [sponge(head + [int(p["z"][s][u]) for s in range(c * L, (c + 1) * L)]) for c in range(C)]
    options = [i for i in ins if i["kind"] in ("call", "put")]
    if options:
        for u in range(U):
            for c in range(C):
                chunk = []
                for s in range(c * L, (c + 1) * L):
                    chunk += [int(p["vol_shock"][s][u]), int(p["skew_shock"][s][u])]
                top.append(sponge(chunk))
        for i in options:
            t = option_terms(InstrumentFx(i["id"], i["kind"], int(i["underlying"]), int(i["strike"]),
                                          int(i["expiry"]), int(i["iv"])), h)
            top.append(sponge([int(i["strike"]), int(i["expiry"]), int(i["iv"]), t.ln_k, t.v, t.inv_v,
                               t.v_after, t.inv_v_after]))
    return sponge(top)


def independent_float_hash(params_json: dict) -> str:
    blob = json.dumps(params_json, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(b"calcm-model-params-v1\n" + blob).hexdigest()


def float_params_check() -> Check:
    """The float model's default parameters (docs/MODEL.md section 6) and their hash."""
    from ..risk.model import ModelParams

    with Timer() as t:
        mp = ModelParams()
        twin = independent_float_hash(mp.to_json())
    ok = twin == mp.hash
    details = [f"ModelParams.hash = {mp.hash}",
               "recompute: sha256(b'calcm-model-params-v1\\n' + json.dumps(ModelParams().to_json(), "
               "sort_keys=True, separators=(',', ':')).encode())",
               f"published defaults: {json.dumps(mp.to_json(), sort_keys=True)}"]
    return Check("transparency", "float model parameter hash (docs/MODEL.md defaults)", PASS if ok else FAIL,
                 f"ModelParams.hash {mp.hash[:16]}...: "
                 f"{'recomputed identically' if ok else 'RECOMPUTED DIFFERENTLY'}"
                 f" from the published recipe", {}, details, t.seconds)


def default_model_params():
    """The parameters ``calcm model-init`` derives from the bundled market and book (its defaults)."""
    from ..market import load_market
    from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
    from ..risk.book import load_book
    from ..risk.model import build_risk_model
    from ..risk.modelfx import params_from_risk_model

    bk = load_book(DEFAULT_BOOK)
    rm = build_risk_model(load_market(DEFAULT_MARKET, DEFAULT_VOLUMES), bk)
    return params_from_risk_model(rm, bk)


def param_hash_check(params, source: str) -> Check:
    """``paramHash`` of ``params``: printed, and recomputed independently from its JSON."""
    with Timer() as t:
        published = json.loads(json.dumps(params.to_json()))
        code = params.param_hash()
        twin = independent_param_hash(published)
    ok = code == twin
    details = [f"paramHash = {code} (0x{code:064x})",
               f"structure: U={params.n_assets} S={params.n_scenarios} n={params.n_instruments} "
               f"m={params.n_collateral} k={params.k_tail} C={params.chunks}, structure_id {params.structure_id()}",
               "recompute: the parameter tree (PoseidonSponge) of the documented field encoding (docs/AUDIT.md, "
               "calcm.audit.transparency) of the model file's `params`",
               f"independent re-encoding from the published JSON: {twin}"]
    return Check("transparency", f"model parameter hash paramHash ({source})", PASS if ok else FAIL,
                 f"paramHash {str(code)[:20]}...: {'recomputed identically' if ok else 'RECOMPUTED DIFFERENTLY'}"
                 f" from the published parameters", {}, details, t.seconds)


def load_params(path: Path):
    from ..zk.model_prove import load_model_file
    return load_model_file(path).params

"""The persistence rule (docs/MODEL.md section 2): arch's constrained MLE at the cap, the LR test,
and the ``calcm risk garch`` report. Cross-checks go through arch's own likelihood (``fix``)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from arch.univariate import StudentsT, ZeroMean
from click.testing import CliRunner
from scipy.stats import chi2, norm

from calcm.cli import garch_cmd, main
from calcm.risk.model import ModelParams
from calcm.risk.persistence import CappedGARCH, lr_test, persistence_report
from calcm.risk.volatility import DEFAULT_PERSISTENCE_CAP, GARCH, GJRGARCH, volatility_model


def _returns(market, asset):
    r = market.simple_returns()[:, market.index(asset)]
    return r[np.isfinite(r)]


def _pct(p, o):
    """arch's parameter vector (percent units) of GarchParams ``p``."""
    return np.r_[p.omega * 1e4, p.alpha, [p.gamma] if o else [], p.beta, p.nu]


@pytest.mark.parametrize("cls, o", [(GARCH, 0), (GJRGARCH, 1)])
def test_capped_fit_is_the_constrained_mle(market, cls, o):
    """BTC (bundled) has phi ~ 0.94: a cap of 0.9 binds. The published fit sits on the cap, is
    no better than arch's fit, no worse than a feasible point, and its path is arch's."""
    r = _returns(market, "BTC")
    free, capped = cls().fit(r), cls(0.9).fit(r)
    chk = capped.persistence_rule
    assert free.params.persistence > 0.9 and chk.published == "capped" and capped.converged
    assert capped.params.persistence <= 0.9 + 1e-9
    assert capped.params.persistence == pytest.approx(0.9, abs=1e-6)      # the constraint binds
    assert chk.loglik_u == pytest.approx(free.loglik, rel=1e-12) and chk.phi_u == free.params.persistence
    assert chk.loglik_c == capped.loglik <= chk.loglik_u
    model = ZeroMean(100 * r, volatility=CappedGARCH(o, 0.9), distribution=StudentsT())
    # arch's likelihood at the published parameters is the recorded one ...
    at = model.fix(_pct(capped.params, o))
    assert at.loglikelihood == pytest.approx(chk.loglik_c, rel=1e-9)
    np.testing.assert_allclose(np.sqrt(capped.sigma2[:-1]), at.conditional_volatility / 100, rtol=1e-10)
    # ... and beats the feasible point "arch's fit scaled onto the cap".
    scaled = _pct(free.params, o)
    scaled[1:-1] *= 0.9 / free.params.persistence
    assert chk.loglik_c >= model.fix(scaled).loglikelihood - 1e-6
    assert (chk.lr, chk.p_value) == lr_test(chk.loglik_u, chk.loglik_c)


def test_below_the_cap_the_fit_is_untouched(market):
    r = _returns(market, "ETH")
    free, ruled = GJRGARCH().fit(r), GJRGARCH(DEFAULT_PERSISTENCE_CAP).fit(r)
    assert free.params.persistence < DEFAULT_PERSISTENCE_CAP
    assert ruled.params == free.params and ruled.loglik == free.loglik
    np.testing.assert_array_equal(ruled.sigma2, free.sigma2)
    chk = ruled.persistence_rule
    assert (chk.published, chk.lr, chk.p_value, chk.loglik_c) == ("unconstrained", 0.0, 1.0, chk.loglik_u)
    assert free.persistence_rule is None


@pytest.mark.parametrize("lr", [1e-8, 0.5, 1.0, 2.705543454, 5.41189, 10.0, 30.0])
def test_lr_p_value_is_the_boundary_mixture(lr):
    """p = 0.5 P(chi2_1 >= LR) = P(Z >= sqrt(LR)); 2.7055 is the 5% critical value of the mixture."""
    got_lr, p = lr_test(-100.0 + lr / 2, -100.0)
    assert got_lr == pytest.approx(lr, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(0.5 * chi2.sf(lr, 1), rel=1e-9)
    assert p == pytest.approx(norm.sf(np.sqrt(lr)), rel=1e-6)
    if lr in (2.705543454, 5.41189):
        assert p == pytest.approx({2.705543454: 0.05, 5.41189: 0.01}[lr], rel=1e-5)


def test_lr_at_and_below_zero():
    assert lr_test(-5.0, -5.0) == (0.0, 1.0)          # chi2_0 half: all mass at 0
    assert lr_test(-5.0, -4.999) == (0.0, 1.0)        # optimiser noise never gives LR < 0


def test_constraint_rows():
    """Rows over (omega, alpha, gamma, beta): a @ x - b >= 0 with the cap row = cap - phi."""
    x = np.array([0.1, 0.1, 0.2, 0.85])               # phi = 0.1 + 0.1 + 0.85 = 1.05
    a, b = CappedGARCH(1, 0.99).constraints()
    assert (a @ x - b)[-1] == pytest.approx(0.99 - 1.05)
    base_a, base_b = CappedGARCH(1, 1.0).constraints()   # arch's own rows only (phi <= 1)
    assert base_a.shape[0] == a.shape[0] - 1 and (base_a @ x - base_b)[-1] == pytest.approx(1 - 1.05)
    ia, ib = CappedGARCH(1, 1.0, 1.0).constraints()      # IGARCH: 1 <= phi <= 1
    assert (ia @ x - ib)[-2:] == pytest.approx([1 - 1.05, 1.05 - 1])
    for bad in (dict(cap=0.0), dict(cap=1.01), dict(cap=0.9, floor=0.95)):
        with pytest.raises(ValueError):
            CappedGARCH(1, **bad)
    for cap in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError):
            volatility_model("gjr", cap)
        with pytest.raises(ValueError):
            ModelParams(persistence_cap=cap)
    assert ModelParams().persistence_cap == DEFAULT_PERSISTENCE_CAP
    assert ModelParams(persistence_cap=None).persistence_cap is None


def _tiny_market(tmp_path):
    """AAA: 40 returns of size 1e-9 (arch's optimiser does not converge); BBB: 9 returns."""
    rng = np.random.default_rng(0)
    n = 41
    d = np.datetime64("2023-01-01") + np.arange(n)
    a = 100 * np.cumprod(1 + rng.standard_normal(n) * 1e-9)
    b = [""] * (n - 10) + [f"{x:.6f}" for x in 5 * np.cumprod(1 + rng.standard_normal(10) * 0.02)]
    p = tmp_path / "market_tiny.csv"
    p.write_text("date,AAA,BBB\n" + "".join(f"{d[i]},{float(a[i])!r},{b[i]}\n" for i in range(n)))
    return p


def test_non_converged_fit_is_reported_not_replaced(tmp_path):
    from calcm.market import load_market

    r = load_market(_tiny_market(tmp_path)).simple_returns()[:, 0]
    fit = GJRGARCH(0.5).fit(r)                          # arch's fit does not converge, phi 0.5 -> capped
    assert fit.persistence_rule.published == "capped" and not fit.converged
    assert not fit.persistence_rule.converged_c and fit.params.persistence <= 0.5 + 1e-9
    rows = {x["asset"]: x for x in persistence_report(load_market(_tiny_market(tmp_path)))}
    assert rows["AAA"]["error"] is None and rows["AAA"]["converged"] is False
    assert "at least 30" in rows["BBB"]["error"] and "phi" not in rows["BBB"]


def test_cli_json_shape_and_skip(tmp_path, monkeypatch):
    monkeypatch.setattr(garch_cmd, "DEFAULT_PRICES", tmp_path / "absent.csv")
    res = CliRunner().invoke(main, ["risk", "garch", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["cap"] == DEFAULT_PERSISTENCE_CAP and doc["vol_model"] == "gjr"
    assert doc["skipped"] == [{"market": str(tmp_path / "absent.csv"), "reason": "not found (pass --prices)"}]
    (m,) = doc["markets"]
    assert [r["asset"] for r in m["assets"]] == ["BTC", "ETH", "SOL", "LINK", "DOGE"]
    keys = {"asset", "n", "error", "nu", "phi_u", "phi", "loglik_u", "loglik_c", "lr", "p_value",
            "loglik_igarch", "lr_igarch", "rule", "converged", "converged_u", "converged_igarch"}
    for r in m["assets"]:
        assert set(r) == keys and r["converged"] and r["rule"] == "unconstrained"
        assert r["loglik_igarch"] <= r["loglik_u"] + 1e-6 and r["phi"] == r["phi_u"] < DEFAULT_PERSISTENCE_CAP
    assert doc["not_converged"] == [] and doc["errors"] == []
    table = CliRunner().invoke(main, ["risk", "garch"])
    assert table.exit_code == 0 and f"skipped {tmp_path / 'absent.csv'}" in table.stdout


def test_cli_reports_bad_fits_per_asset(tmp_path):
    tiny = _tiny_market(tmp_path)
    res = CliRunner().invoke(main, ["risk", "garch", "--json", "--market", str(tiny), "--prices", str(tiny)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["not_converged"] == [f"{tiny}:AAA"] * 2 and len(doc["errors"]) == 2
    missing = CliRunner().invoke(main, ["risk", "garch", "--prices", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "nope.csv" in missing.output and "Traceback" not in missing.output


@pytest.mark.realdata
def test_real_history_caps_the_integrated_fits(shared_prices):
    """2017-2023: BTC's arch fit is integrated; at the default cap the LR test does not reject."""
    from calcm.market import load_market

    r = _returns(load_market(shared_prices / "daily_close.csv"), "BTC")
    chk = GJRGARCH(DEFAULT_PERSISTENCE_CAP).fit(r).persistence_rule
    assert chk.phi_u > 0.9999 and chk.published == "capped" and chk.p_value > 0.05


def test_qlike_h2_against_a_plain_loop(market):
    """Vectorised QLIKE of the 2-day forecasts == a loop over mpor_variance on the filtered path."""
    from calcm.risk.persistence import qlike_h2
    from calcm.risk.volatility import filter_variance, mpor_variance

    r = _returns(market, "SOL")
    fit = GJRGARCH().fit(r[:700])
    got = qlike_h2(fit.params, r, float(fit.sigma2[0]), 700)
    s2 = filter_variance(fit.params, r, float(fit.sigma2[0]))
    want = []
    for t in range(700, len(r) - 1):
        v = mpor_variance(fit.params, s2[t], 2)
        want.append(np.log(v) + (r[t] ** 2 + r[t + 1] ** 2) / v)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(s2[:701], fit.sigma2, rtol=1e-12)     # the in-sample path is the fit's


def test_cap_evidence_shape_and_zero_effect_below_the_cap(market):
    from calcm.risk.persistence import cap_evidence

    ev = cap_evidence(market, caps=(0.95, 0.999), years=(2023,))
    assert ev["n_forecasts"] == 5 * 364 and set(ev["qlike"]) == {"0.95", "0.999", "igarch"} and ev["years"] == [2023]
    # No bundled fit reaches 0.999: that rule and IGARCH-at-0.999 publish arch's own fits.
    assert ev["likelihood"]["0.999"] == {"loglik_loss": 0.0, "rejected_5pct": []}
    assert ev["qlike"]["0.999"] == ev["qlike"]["igarch"] == {"mean_diff_vs_arch": 0.0, "t": 0.0}
    assert ev["likelihood"]["0.95"]["loglik_loss"] > 0 and ev["qlike"]["0.95"]["mean_diff_vs_arch"] != 0

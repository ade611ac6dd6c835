"""The model a trader's question is answered on: the published model, or a model export.

Public functions::

    published_context(market: MarketData, book: Book, params: ModelParams | None = None,
                      asof=None) -> TraderContext
    context_from_published(book: Book, pub: PublishedModel) -> TraderContext   (no second fit)
    load_export(model_dir: Path, book: Book) -> TraderContext          (calcm.trader.export)
    TraderContext.account(account_id: str) -> tuple[int, Account]    InputError if unknown
    TraderContext.encode(account: Account) -> AccountFx              InputError naming the field

A :class:`TraderContext` holds the book, the published :class:`MarginModelFx` (what
``calcm margin`` prints as "proven" and every proof uses), and, when the model was
built here, the float risk model (for the float numbers shown beside the proven ones)
and the fixed-point parameters and state (for exact revaluation at other prices).
A context loaded from an export has the parameters and state too, but no float model.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InputError
from ..market import MarketData
from ..risk.book import Account, Book
from ..risk.fixed_margin import AccountFx, MarginModelFx, encode_book_accounts
from ..risk.model import ModelParams


@dataclass(frozen=True, eq=False)
class TraderContext:
    """Book + published fixed-point model (+ float model, parameters, state, scenario labels).

    ``scenario_names`` / ``scenario_kinds`` (S,) label scenario ``s`` (``"fhs 2023-12-12"``,
    ``"crash"``, ``"breakdown BTC+/ETH-"``, ...; kinds ``fhs worst best crash rally breakdown vol``).
    ``params`` (ModelParamsFx) and ``state`` (ModelStateFx, after the step to ``asof``) allow
    exact revaluation (:mod:`calcm.trader.moves`); ``risk`` (RiskModel) gives float numbers.
    ``genesis``: the ModelStateFx of T-1 (what the registry's genesis holds), when known.
    ``scenario_vol_shocks`` (S,): each scenario's largest ATM implied-vol shock over the
    underlyings (fraction, float model; the shocks are per underlying since scenarios v3).
    ``commitments``: decimal strings of lin/opt commitment, param hash, state commitment.
    """

    book: Book
    model: MarginModelFx
    asof: str
    scenario_names: tuple[str, ...]
    scenario_kinds: tuple[str, ...]
    commitments: dict
    params: object | None = None
    state: object | None = None
    scenario_vol_shocks: tuple[float, ...] = ()
    genesis: object | None = None
    risk: object | None = None
    source: str = "published"

    @property
    def float_model(self):
        """The float :class:`~calcm.risk.margin.MarginModel`, or None (context from an export)."""
        return None if self.risk is None else self.risk.margin_model

    def account(self, account_id: str) -> tuple[int, Account]:
        """``(index, Account)`` of ``account_id`` in the book; unknown id -> InputError."""
        for a, acc in enumerate(self.book.accounts):
            if acc.id == account_id:
                return a, acc
        raise InputError(self.book.source, f"account '{account_id}'", "--account",
                         "no such account in the book")

    def encode(self, account: Account) -> AccountFx:
        """The fixed-point account exactly as ``calcm margin`` encodes it (same path, same rounding)."""
        one = replace(self.book, accounts=(account,))
        return encode_book_accounts(one)[0]

    def with_accounts(self, accounts) -> Book:
        return replace(self.book, accounts=tuple(accounts))


def check_book_matches_model(book: Book, instruments, collateral, source: str) -> None:
    """The book lists exactly the model's instruments and collateral, in the model's order."""
    if tuple(book.instrument_ids) != tuple(instruments):
        raise InputError(book.source, "-", "instruments",
                         f"the book's instruments {list(book.instrument_ids)} are not the model's "
                         f"{list(instruments)} ({source})")
    if tuple(book.collateral_assets) != tuple(collateral):
        raise InputError(book.source, "-", "collateral",
                         f"the book's collateral {list(book.collateral_assets)} is not the model's "
                         f"{list(collateral)} ({source})")


def published_context(market: MarketData, book: Book, params: ModelParams | None = None,
                      asof=None) -> TraderContext:
    """Build the published model of ``book`` (:func:`calcm.risk.published.published_model`)."""
    from ..risk.published import published_model

    encode_book_accounts(book)      # an out-of-range account fails before the model is fitted
    return context_from_published(book, published_model(market, book, params, asof))


def context_from_published(book: Book, pub) -> TraderContext:
    """The context of an already built :class:`~calcm.risk.published.PublishedModel` of ``book``
    (e.g. ``MarginReport.published``: no second fit)."""
    commitments = {"lin_commitment": str(pub.lin_commitment), "opt_commitment": str(pub.opt_commitment),
                   "param_hash": str(pub.param_hash),
                   "state_commitment": str(pub.state.commitment()) if pub.state is not None else None,
                   "structure_id": str(pub.model.structure_id)}
    sc = pub.risk.scenarios
    return TraderContext(book, pub.model, str(pub.risk.asof), tuple(sc.names), tuple(sc.kinds), commitments,
                         params=pub.params, state=pub.state, risk=pub.risk, source="published",
                         scenario_vol_shocks=tuple(float(v) for v in sc.vol_shock.max(axis=1)), genesis=pub.genesis)

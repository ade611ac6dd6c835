"""``calcm serve``: a local dashboard (Starlette + uvicorn) over the book, the model, cascades and the keeper.

Modules (one per view, plus the plumbing):

- :mod:`.settings`: :class:`~.settings.ServeSettings`, what the server reads (market, book, keeper store, ...);
- :mod:`.warm`: :class:`~.warm.Warmup`, the expensive results computed once per server start in a
  background thread (margin report, model charts, backtest, cascade replay) and cached in memory;
- :mod:`.layout`: the HTML shell every page shares (nav, tables, data embedded as JSON, no CDN);
- :mod:`.book_view`, :mod:`.account_view`, :mod:`.model_view`, :mod:`.cascade_view`,
  :mod:`.keeper_view`: each a ``*_data(...) -> dict`` (the ``/api/...`` document) and a
  ``*_page(data) -> str`` (the HTML of the same data);
- :mod:`.app`: :func:`~.app.create_app`, the Starlette application factory.

The account view calls the trader functions (``calcm.trader``) through an
:class:`~.account_view.AccountService` that the CLI wires in (``calcm.cli.serve_trader``):
``serve`` and ``trader`` are independent siblings in the stage layering (pyproject.toml).
Charts are drawn in the browser by chart.js, served from ``node_modules`` (no CDN, no internet).
"""

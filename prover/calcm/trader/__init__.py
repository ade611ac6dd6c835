"""What a trader asks of the published model: what-if, explain, inclusion, model export.

Every function returns plain data (dataclasses with ``to_json``) so that the CLI
(``calcm whatif / explain / inclusion / model export``) and the HTTP API (``calcm serve``)
share one implementation (docs/TRADER.md).

- :mod:`.context`: :func:`~.context.published_context` / :func:`~.export.load_export`,
  the :class:`~.context.TraderContext` every other module works on;
- :mod:`.numbers`: :class:`~.numbers.MarginNumbers` (one account's published and float margin);
- :mod:`.trades`: parsing and applying ``INSTRUMENT:+2`` trades and ``ASSET:1000`` cash moves;
- :mod:`.whatif`, :mod:`.explain`, :mod:`.moves` (tier-boundary price moves),
  :mod:`.inclusion`, :mod:`.export`.
"""

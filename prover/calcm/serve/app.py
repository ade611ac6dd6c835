"""The Starlette application: one HTML page and one ``/api/...`` JSON document per view.

``create_app(settings, service_factory=None, warm=None) -> Starlette``

Routes::

    GET  /                      -> redirect to /book
    GET  /book       /api/book
    GET  /account/{id}   /api/account/{id}
    POST /api/account/{id}/whatif        (JSON body, see calcm.serve.account_view)
    POST /api/account/{id}/inclusion
    GET  /model      /api/model
    GET  /cascade    /api/cascade
    GET  /keeper     /api/keeper
    GET  /api/health            which warm-up pieces are ready (and their seconds)
    GET  /static/...            dashboard.css, dashboard.js; chart.umd.js from node_modules/chart.js

Bad input (unknown account, malformed trade, bad JSON body) is HTTP 400 with
``{"error": "<one line naming the field>"}``; a failed computation is 500 with its one
line. The warm-up (:class:`~.warm.Warmup`) starts with the application (lifespan), so
the first request of a view waits for its piece and every later one is a lookup.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import InputError
from ..paths import NODE_MODULES
from .layout import dumps, error_page
from .settings import ServeSettings, check_settings
from .warm import Warmup

STATIC = Path(__file__).with_name("static")
CHART_JS = NODE_MODULES / "chart.js" / "dist" / "chart.umd.js"


class JSON(Response):
    media_type = "application/json"

    def render(self, content) -> bytes:
        return dumps(content).encode()


def _bad(exc: Exception) -> int:
    return 400 if isinstance(exc, (InputError, KeyError, ValueError)) else 500


def _line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def create_app(settings: ServeSettings | None = None, service_factory=None, warm: Warmup | None = None) -> Starlette:
    """The dashboard for ``settings`` (see the module docstring); ``warm`` may be shared (tests)."""
    settings = settings or ServeSettings()
    check_settings(settings)
    w = warm or Warmup(settings, service_factory)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        w.start()
        yield
        if warm is None:
            w.close()

    async def piece(name: str):
        return await run_in_threadpool(w.get, name)

    # ------------------------------------------------------------------ documents
    async def book_doc():
        from .book_view import book_data
        return await run_in_threadpool(_cached, "book", lambda: book_data(w.get("report")))

    cache: dict[str, object] = {}

    def _cached(key, fn):
        if key not in cache:
            cache[key] = fn()
        return cache[key]

    async def model_doc():
        from .model_view import backtest_data
        doc = await piece("model")
        try:
            bt = await run_in_threadpool(_cached, "backtest", lambda: backtest_data(w.get("backtest")))
            return doc, bt, None
        except Exception as exc:           # the model view still shows the rest
            return doc, None, _line(exc)

    async def cascade_doc():
        from .cascade_view import cascade_data

        def build():
            book, results = w.get("cascade")
            return cascade_data(book, results, settings.cascade_window)
        return await run_in_threadpool(_cached, "cascade", build)

    async def keeper_doc():
        from .keeper_view import keeper_data
        return await run_in_threadpool(keeper_data, settings.store)

    async def account_doc(account_id: str):
        service = await piece("service")
        if service is None:
            raise RuntimeError("the account view is not wired to the trader functions (use `calcm serve`)")
        return await run_in_threadpool(w.account, account_id)

    # ------------------------------------------------------------------ handlers
    def api(fn):
        async def handler(request: Request):
            try:
                return JSON(await fn(request))
            except Exception as exc:
                return JSON({"error": _line(exc)}, status_code=_bad(exc))
        return handler

    def html(view: str, title: str, fn):
        async def handler(request: Request):
            try:
                return HTMLResponse(await fn(request))
            except Exception as exc:
                return HTMLResponse(error_page(view, title, _line(exc)), status_code=_bad(exc))
        return handler

    async def _book_page(request):
        from .book_view import book_page
        return book_page(await book_doc())

    async def _model_page(request):
        from .model_view import model_page
        doc, bt, err = await model_doc()
        return model_page(doc, bt, err)

    async def _model_api(request):
        doc, bt, err = await model_doc()
        return {**doc, "backtest": bt, "backtest_error": err}

    async def _cascade_page(request):
        from .cascade_view import cascade_page
        return cascade_page(await cascade_doc())

    async def _keeper_page(request):
        from .keeper_view import keeper_page
        return keeper_page(await keeper_doc())

    async def _account_page(request):
        from .account_view import account_page
        return account_page(await account_doc(request.path_params["account"]))

    async def _body(request) -> dict:
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as exc:
            raise InputError("request body", f"line {exc.lineno}", "-", f"invalid JSON: {exc.msg}") from None
        if not isinstance(body, dict):
            raise InputError("request body", "-", "-", "expected a JSON object")
        return body

    def _strings(body: dict, key: str) -> list[str]:
        v = body.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise InputError("request body", "-", key, "expected a list of strings like 'BTC-PERP:+2'")
        return v

    async def _whatif(request):
        body = await _body(request)
        service = await piece("service")
        if service is None:
            raise RuntimeError("the account view is not wired to the trader functions")
        factor = body.get("search_factor", 100.0)
        if isinstance(factor, str):
            try:
                factor = float(factor)
            except ValueError:
                raise InputError("request body", "-", "search_factor", f"{factor!r} is not a number") from None
        if not isinstance(factor, (int, float)) or isinstance(factor, bool):
            raise InputError("request body", "-", "search_factor", "expected a number")
        return await run_in_threadpool(service.whatif, request.path_params["account"], _strings(body, "trades"),
                                       _strings(body, "deposits"), _strings(body, "withdrawals"), float(factor))

    async def _inclusion(request):
        body = await _body(request)
        service = await piece("service")
        if service is None:
            raise RuntimeError("the account view is not wired to the trader functions")
        return await run_in_threadpool(service.inclusion, request.path_params["account"], body)

    async def _health(request):
        return JSON(w.status())

    async def _chart_js(request):
        if not CHART_JS.is_file():
            return Response("chart.js not installed (npm ci)", status_code=404)
        return FileResponse(CHART_JS, media_type="text/javascript")

    routes = [
        Route("/", lambda r: RedirectResponse("/book")),
        Route("/book", html("book", "Book", _book_page)),
        Route("/api/book", api(lambda r: book_doc())),
        Route("/account/{account}", html("account", "Account", _account_page)),
        Route("/api/account/{account}", api(lambda r: account_doc(r.path_params["account"]))),
        Route("/api/account/{account}/whatif", api(_whatif), methods=["POST"]),
        Route("/api/account/{account}/inclusion", api(_inclusion), methods=["POST"]),
        Route("/model", html("model", "Model", _model_page)),
        Route("/api/model", api(_model_api)),
        Route("/cascade", html("cascade", "Cascade replay", _cascade_page)),
        Route("/api/cascade", api(lambda r: cascade_doc())),
        Route("/keeper", html("keeper", "Keeper", _keeper_page)),
        Route("/api/keeper", api(lambda r: keeper_doc())),
        Route("/api/health", _health),
        Route("/static/chart.umd.js", _chart_js),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.warm = w
    app.state.settings = settings
    return app

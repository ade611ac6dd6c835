"""Market data: daily closes (and optional volumes / highs / lows), validated."""
from .data import Gap, MarketData
from .formats import load_volumes
from .load import load_market, load_market_ohlcv
from .windows import check_history, join_fit_test

__all__ = ["Gap", "MarketData", "check_history", "join_fit_test", "load_market", "load_market_ohlcv",
           "load_volumes"]

"""Market data: daily closes (and optional volumes / highs / lows), validated."""
from .data import Gap, MarketData, load_market, load_market_ohlcv, load_volumes

__all__ = ["Gap", "MarketData", "load_market", "load_market_ohlcv", "load_volumes"]

"""What a run costs in dollars: the price list (:mod:`.prices`) and the usage a run counts (:mod:`.usage`)."""

from streamlake_fast.cost.prices import Prices, load_prices
from streamlake_fast.cost.usage import Usage

__all__ = ["Prices", "Usage", "load_prices"]

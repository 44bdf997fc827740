"""Analytics: the statistics of scores and differences, and (to come) the scoped Ibis queries."""

"""Reviewing tracks by eye and fixing ids by hand: hints of likely mistakes and the review page's server."""

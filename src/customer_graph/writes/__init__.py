"""Writes to several providers: planned as journaled steps, executed once, resumed after a crash or outage."""

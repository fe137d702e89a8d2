"""Talking to model servers, for every use (judge, regeneration, topic titles, the Ray judge).

``client`` (the async OpenAI-compatible client: retries, backoff, 429, budget), ``many`` (the one cached,
budgeted request loop, ``complete_many``), ``cache`` (the SQLite cache, one record type per use),
``settings`` (client settings, prices, the default base URL) and ``offline`` (the built-in offline judge
the client answers from when the base URL is ``offline``). This file imports nothing, so the test judge
server, which reuses the offline rule, starts without the heavy libraries.
"""

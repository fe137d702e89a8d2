"""Talking to model servers: the chat client, its offline judge, and the request loop shared by every use.

Kept free of heavy imports so the test judge server (which reuses the offline rule) starts quickly.
"""

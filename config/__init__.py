"""Project wiring: settings, urls, /healthz, the Redis clients and the rq queue.

Imports no app; every app may import it.
"""

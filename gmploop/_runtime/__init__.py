"""gmploop's private core: G, M, P, run queues, park/ready, timers, waiters.

The public layers (channels, select, sync, context, net, the asyncio loop) use
only the small internal API of this package; nothing here imports them.
"""

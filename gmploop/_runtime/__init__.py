"""gmploop's private core: G, M, P, run queues, park/ready, timers, waiters,
the netFD and its pollers, sysmon, goroutine dumps (docs/internals.md).

The public layers (channels, select, sync, context, net, the asyncio loop) use
only the small internal API of this package; nothing here imports them.
"""

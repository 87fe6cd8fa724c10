"""Operations: metrics, structured logs, health endpoints and graceful shutdown.

Submodules are imported where used (``from core.ops import metrics``); this package keeps
no state of its own.
"""

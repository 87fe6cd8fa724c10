"""Opening the page in the user's browser, only where a browser can show it.

On Linux and the BSDs a graphical browser needs a display (``DISPLAY`` or
``WAYLAND_DISPLAY``); without one, :mod:`webbrowser` would fall back to a text browser
inside the terminal the playground prints to, so nothing is opened there and the printed
URL is what the user follows. macOS and Windows always have a desktop.
"""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from collections.abc import Mapping

__all__ = ["has_display", "open_page"]


def has_display(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    env = os.environ if environ is None else environ
    if (platform or sys.platform) in ("darwin", "win32"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def open_page(url: str) -> bool:
    """Open ``url`` in a new browser tab where there is a display; whether it was tried.

    A daemon thread: some browsers' launchers wait for the browser to exit, and neither the
    playground nor its exit may wait for them.
    """
    if not has_display():
        return False
    threading.Thread(target=webbrowser.open_new_tab, args=(url,), daemon=True).start()
    return True

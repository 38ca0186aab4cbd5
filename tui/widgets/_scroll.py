"""Growing a Line API view without re-laying out the whole screen.

`virtual_size` is a layout reactive: every change asks the screen for a full layout pass
(~20-25 ms with this app's panels), and the event stream and the failure list change it on
every flush while results stream in. Their own size does not change when they grow - only
their scrollable area does - so the scrollbars are updated directly; should a scrollbar appear
or disappear, its own reactive still asks for the layout that needs.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView


def grow_virtual_size(view: ScrollView, size: Size) -> None:
    """Set `view.virtual_size` to `size`, updating scrollbars without a screen layout."""
    if size == view.virtual_size:
        return
    if not view.is_mounted or view.size.area == 0:
        view.virtual_size = size  # not laid out yet: the ordinary path costs nothing here
        return
    view.set_reactive(ScrollView.virtual_size, size)
    view._scroll_update(size)  # noqa: SLF001 - what the layout pass would call for a ScrollView
    view.refresh()

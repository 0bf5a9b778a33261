"""The common base of every exception class paddle_resnet defines.

Each of our exceptions also keeps the built-in base a caller would catch without knowing us (``ValueError`` for
bad input, ``OSError`` for a failed download, ``RuntimeError`` for a trace that cannot run), so code can catch
either ``PaddleResNetError`` (anything we refused) or the familiar built-in.
"""


class PaddleResNetError(Exception):
    """Anything paddle_resnet refused or could not do: catch this to handle all of our errors at once."""

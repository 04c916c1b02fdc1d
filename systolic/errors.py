"""One error type for bad user input, rendered as a single line by the CLI."""

from __future__ import annotations

import os


class InputError(ValueError):
    """Bad user input: a file, a field or a command-line value that cannot be used.

    The message is one line: ``SOURCE[:WHERE]: WHAT``. ``source`` names the file (or ``--option`` /
    ``config`` for values that came from elsewhere), ``where`` the line, section or field, ``what`` the
    problem. The CLI prints ``systolic: error: <message>`` and exits with status 2.

    Parameters
    ----------
    what : str
        What is wrong, in words a user can act on.
    source : str or os.PathLike, optional
        The file or other origin of the value.
    where : str, optional
        The line number, section or field inside ``source``.
    """

    def __init__(self, what: str, source: str | os.PathLike | None = None, where: str | None = None):
        self.what = what
        self.source = None if source is None else str(source)
        self.where = where
        super().__init__(self._render())

    def _render(self) -> str:
        head = ": ".join(p for p in (self.source, self.where) if p)
        text = f"{head}: {self.what}" if head else self.what
        return " ".join(text.split())  # always one line

    def located(self, source: str | os.PathLike | None = None, where: str | None = None) -> InputError:
        """The same error with its origin filled in where it was not known yet."""
        return InputError(self.what, self.source or source, self.where or where)

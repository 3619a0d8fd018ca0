"""``breedhub germplasm history``, ``imports`` and ``undo``: the import audit trail."""

from __future__ import annotations

import click

#: The commands of this module, added to ``breedhub germplasm`` by :mod:`breedhub.cli.germplasm`.
AUDIT_COMMANDS: list[click.Command] = []

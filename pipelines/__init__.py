"""breedhub pipelines: see DESIGN.md for what this package owns.

Nothing is offered yet: later issues fill it in.
"""

__all__: list[str] = []

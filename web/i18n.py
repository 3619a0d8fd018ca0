"""English and Chinese in the portal: species and trait names, navigation, a language switch.

Templates call the filters ``species_name`` (a :class:`~germplasm.models.SpeciesRow`)
and ``trait_name`` (an :class:`~germplasm.models.ObservationVariable` or a
variable name) and the global ``_`` (a UI string). Placeholder: English only
until the language switch is built.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


def species_name(species: Any) -> str:
    """The species' common name in the current language."""
    return str(getattr(species, "common_name_en", "") or getattr(species, "key", species))


def trait_name(variable: Any) -> str:
    """The trait's name in the current language (a variable or its name)."""
    return str(getattr(variable, "name", variable))


def translate(text: str) -> str:
    """A UI string in the current language."""
    return text


def init_app(app: Flask) -> None:
    """Register the filters and ``_`` with ``app``'s templates."""
    app.add_template_filter(species_name, "species_name")
    app.add_template_filter(trait_name, "trait_name")
    app.add_template_global(translate, "_")

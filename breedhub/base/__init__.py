"""The floor every package of breedhub stands on; it imports nothing of ours.

It holds what all of them share: the root of the exceptions
(:mod:`~breedhub.base.errors`), the settings (:mod:`~breedhub.base.config`),
the version, and the small things that were once written in several places.
"""

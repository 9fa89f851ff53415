"""Test-only helpers shared by the tests and ``make bench`` (never shipped in the wheel or the image)."""

"""The package version, in a module of its own so that code inside the package can read it without importing
the top-level ``arenapref`` module (whose notebook API imports the stages: that would be a cycle)."""

__version__ = "0.1.0"

"""Commands owned by this subpackage (registered by curator.cli)."""


def register(app) -> None:
    """Add this subpackage's commands to the top-level Typer app."""

"""Command-line interface: `robostack.cli.main` dispatches to one module per sub-command."""

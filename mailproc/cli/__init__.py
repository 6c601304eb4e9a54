"""The `mailproc` command: one module per subcommand family."""

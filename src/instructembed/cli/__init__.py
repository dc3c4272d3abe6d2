"""The `instructembed` command line."""

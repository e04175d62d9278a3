"""Entry points at the edge: the command-line interface (and, later, the web application)."""

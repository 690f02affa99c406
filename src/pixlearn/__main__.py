"""`python -m pixlearn` is the `pixlearn` command."""

from pixlearn.cli.main import main

main()

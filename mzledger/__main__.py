"""`python -m mzledger`."""

from mzledger.cli import main

main()

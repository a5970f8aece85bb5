"""The books' side of mzledger: chart of accounts, settlement register, books layout.

Knows nothing of importers, postings or reports: they build on it.
"""

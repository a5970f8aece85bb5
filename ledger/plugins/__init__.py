"""Beancount plugins of mzledger, each loaded by ``plugin "ledger.plugins.NAME"``."""

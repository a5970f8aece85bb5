"""Where the year-end closing (年终结账) sits in the books: its files and its tag.

At the close of a year's last month the year's income and expenditure are carried into 3001
一般基金结余 by sub-fund, as the 2017 system says of every income and expenditure account
("期末结账后应无余额"): one transaction, dated the year's last day and tagged
``#year-end-closing``, in ``closing/<year>.beancount`` (``postings.year_end``). It is a transfer
between accounts, not a flow: the statements of flows (会社保02表 收支表) and Fava's income
statement, filtered with ``-#year-end-closing``, leave it out.
"""

from __future__ import annotations

YEAR_END_TAG = "year-end-closing"
CLOSING_DIR = "closing"


def closing_file_name(year: int) -> str:
    """The year's closing file, relative to the books: ``closing/2023.beancount``."""
    return f"{CLOSING_DIR}/{year:04d}.beancount"

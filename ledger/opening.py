"""Where the opening balances (期初余额) sit in the books: their file and their tag.

The books open with one transaction, tagged ``#opening``, dated the day before their first day
(``postings.opening``). It is not a month's bookkeeping: the books' first month is that of
their first other entry (``ledger.locks.books_first_month``), and ``check`` compares it with
the register's opening balances.
"""

OPENING_FILE = "opening.beancount"
OPENING_TAG = "opening"

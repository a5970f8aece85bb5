"""What the command line says of the failures of the user's environment: a message and exit
1 (``refuse``), never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ledger.books import BooksError
from ledger.chart import ChartError
from ledger.register.lock import RegisterLockError
from mzledger.cli_options import refuse
from mzledger.terminal import problem_lines
from reports.audit.policy import PolicyError


def driver_errors() -> tuple[type[Exception], ...]:
    """The drivers' operational errors that reach us unwrapped by SQLAlchemy (the bulk path's
    ADBC and raw psycopg connections): of the drivers this command loaded, no others."""
    loaded = (sys.modules.get(name) for name in ("adbc_driver_manager", "psycopg", "sqlite3"))
    return tuple(module.OperationalError for module in loaded if module is not None)


@contextmanager
def user_errors() -> Iterator[None]:
    """Known failures of the user's environment become a message and exit 1, not a traceback."""
    try:
        yield
    except BooksError as exc:
        refuse(*problem_lines([exc.problem]) if exc.problem else [str(exc)])
    except (ChartError, PolicyError, RegisterLockError) as exc:
        refuse(str(exc))
    except OperationalError as exc:
        refuse(f"register: cannot use the database: {exc.orig}")
    except IntegrityError as exc:  # a check of ours should have come first: say what and stop
        refuse(f"register: the database refused the change, nothing was written: {exc.orig}")
    except DBAPIError as exc:  # a schema or table that is not there, a permission refused
        refuse(f"register: cannot use the database: {exc.orig}")
    except Exception as exc:
        if isinstance(exc, driver_errors()):
            refuse(f"register: cannot use the database: {exc}")
        raise


__all__ = ["driver_errors", "user_errors"]

"""The name the books give Fava for the 门诊统筹 extension (``custom "fava-extension"
"reports.fava_ext"`` in every ``main.beancount``, old and new): kept as the entry point so
that books made by any version load unchanged. The extension itself is ``reports.fava``."""

from reports.fava.extension import MzLedger

__all__ = ["MzLedger"]

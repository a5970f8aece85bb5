"""Fee details (费用明细, transaction 2204 and its output): ``mzledger import fee-details``."""

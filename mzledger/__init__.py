"""mzledger command line and demo data: a thin layer above the four packages."""

"""Reading exports: sources, containers, normalisation and validation of records."""

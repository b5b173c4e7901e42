"""Action-chunked Q ensembles."""

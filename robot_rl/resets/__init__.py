"""Reset strategies (scripted, learned backward policy, operator, teleport) and reset verification."""

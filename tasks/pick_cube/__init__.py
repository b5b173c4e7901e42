"""pick_cube: lift a randomly placed 4 cm cube at least 5 cm off the table."""

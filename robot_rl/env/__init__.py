"""RobotEnv (gymnasium) = devices + task; chunk executor; safety layer."""

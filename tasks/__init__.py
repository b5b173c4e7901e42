"""Tasks (scene, config, success predicate, resets, scripted expert), imported as ``robot_rl.tasks``.

This folder sits at the top of the repository (DESIGN §1) and reaches the package through the
``robot_rl/tasks`` symlink, which survives pip, editable, colcon and colcon symlink installs.
"""

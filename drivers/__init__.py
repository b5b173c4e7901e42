"""Device drivers (cameras, arms, teleop devices, MuJoCo mirror devices), imported as ``robot_rl.drivers``.

This folder sits at the top of the repository (DESIGN §1) and reaches the package through the
``robot_rl/drivers`` symlink, which survives pip, editable, colcon and colcon symlink installs.
"""

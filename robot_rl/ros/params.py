"""Declare a node's config dataclass as ROS parameters with descriptors, and read it back."""

from __future__ import annotations

import dataclasses
import typing
from typing import TypeVar

from rcl_interfaces.msg import ParameterDescriptor, ParameterType
from rclpy.node import Node

from robot_rl.ros.configs import field_docs

C = TypeVar("C")
_ARRAY_TYPES = {float: ParameterType.PARAMETER_DOUBLE_ARRAY, int: ParameterType.PARAMETER_INTEGER_ARRAY,
                str: ParameterType.PARAMETER_STRING_ARRAY, bool: ParameterType.PARAMETER_BOOL_ARRAY}


def declare_config(node: Node, cls: type[C]) -> C:
    """Declare every field of `cls` (read-only, described by its docstring) and return the values."""
    docs, hints = field_docs(cls), typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        default = f.default
        desc = ParameterDescriptor(description=docs.get(f.name, ""), read_only=True)
        if isinstance(default, tuple):
            desc.type = _ARRAY_TYPES[typing.get_args(hints[f.name])[0]]
            default = list(default)
        elif isinstance(default, float):
            desc.type = ParameterType.PARAMETER_DOUBLE
        value = node.declare_parameter(f.name, default, desc).value
        if isinstance(f.default, tuple):
            value = tuple(value)
        elif isinstance(f.default, float):
            value = float(value)
        values[f.name] = value
    return cls(**values)

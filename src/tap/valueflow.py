"""Whether a value of a stack tree keeps its deployed value through an update.

An expression in a template keeps its value when every source it reads does: a root
parameter with the same value; a nested stack's parameter that its parent passes as the
same expression over unchanged sources; a sibling stack's output, same expression, same
sources; a `Ref` to a resource that is not replaced (a Ref is the physical id); the ARN
of a resource that is not replaced (an ARN names the resource); any other attribute of a
resource that does not change at all.

The deploy review (reading CloudFormation's nested change sets) and `build.py diff`
(comparing two builds) decide this the same way; they differ only in how they know
whether a resource changes or is replaced, which each supplies as `replaced` and
`unchanged`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
Path = tuple[str, ...]
TemplateOf = Callable[[Path], "dict[str, Any] | None"]


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")  # ${Name} or ${Resource.Attr}; ${!x} is literal


def resource_of(template: dict[str, Any] | None, logical_id: str) -> dict[str, Any]:
    return (template or {}).get("Resources", {}).get(logical_id, {})


def sub_references(argument: Any) -> list[Any]:
    """What an `Fn::Sub` reads: its variables' expressions, and a Ref or GetAtt for each
    `${...}` of the text that is not one of them."""
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    implicit = [name for name in _SUB_VARIABLE.findall(text) if name not in variables]
    return [*variables.values(), *(
        {"Fn::GetAtt": name.split(".", 1)} if "." in name else {"Ref": name} for name in implicit
    )]


class ValueFlow:
    """Follows values from the root's parameters through every nested stack."""

    def __init__(self, new_template: TemplateOf, old_template: TemplateOf,
                 changed_root_parameters: frozenset[str] = frozenset()):
        self.new = new_template
        self.old = old_template
        self.changed_root_parameters = changed_root_parameters
        self.input_unchanged = lru_cache(maxsize=None)(self._input_unchanged)
        self.output_unchanged = lru_cache(maxsize=None)(self._output_unchanged)

    # --- what a subclass knows about resources ---------------------------------------------

    def replaced(self, path: Path, logical_id: str) -> bool:
        """The resource gets a new physical id in this update."""
        raise NotImplementedError

    def unchanged(self, path: Path, logical_id: str) -> bool:
        """The resource does not change at all in this update."""
        raise NotImplementedError

    # --- values ------------------------------------------------------------------------------

    def value_unchanged(self, path: Path, expression: Any) -> bool:
        """An expression of the stack at `path` evaluates as it did when deployed."""
        if isinstance(expression, list):
            return all(self.value_unchanged(path, item) for item in expression)
        if not isinstance(expression, dict):
            return True
        if len(expression) != 1:  # a plain object (a policy statement), not a function
            return all(self.value_unchanged(path, value) for value in expression.values())
        (function, argument), = expression.items()
        template = self.new(path) or {}
        if function == "Ref":
            if argument.startswith("AWS::"):
                return True
            if argument in template.get("Parameters", {}):
                return self.input_unchanged(path, argument)
            return argument in template.get("Resources", {}) and not self.replaced(path, argument)
        if function == "Fn::GetAtt":
            return self.attribute_unchanged(path, *argument)
        if function == "Fn::Sub":
            return self.value_unchanged(path, sub_references(argument))
        if function in ("Fn::If", "Condition") and isinstance(argument, (list, str)):
            name = argument if isinstance(argument, str) else argument[0]
            condition = template.get("Conditions", {}).get(name)
            branches = argument[1:] if isinstance(argument, list) else []
            return condition is not None and self.value_unchanged(path, [condition, *branches])
        return self.value_unchanged(path, argument)

    def attribute_unchanged(self, path: Path, logical_id: str, attribute: str) -> bool:
        resource = resource_of(self.new(path), logical_id)
        if resource.get("Type") == NESTED_STACK_TYPE:
            return attribute.startswith("Outputs.") and self.output_unchanged(
                (*path, logical_id), attribute.removeprefix("Outputs."))
        if not resource:
            return False
        # An ARN names the resource, so it changes only with a new physical resource;
        # other attributes may change with any update of it.
        if attribute.endswith("Arn"):
            return not self.replaced(path, logical_id)
        return self.unchanged(path, logical_id)

    def property_unchanged(self, path: Path, logical_id: str, name: str | None) -> bool:
        """The template gives property `name` (all of the resource when None) the same
        expression as before."""
        old, new = resource_of(self.old(path), logical_id), resource_of(self.new(path), logical_id)
        if not old or not new:
            return False
        if name is None:
            return old == new
        return old.get("Properties", {}).get(name) == new.get("Properties", {}).get(name)

    def _input_unchanged(self, path: Path, parameter: str) -> bool:
        """The value of `parameter` in the stack at `path` is the deployed one."""
        if not path:
            return parameter not in self.changed_root_parameters
        parent, logical_id = path[:-1], path[-1]
        old = resource_of(self.old(parent), logical_id).get("Properties", {}).get("Parameters", {})
        new = resource_of(self.new(parent), logical_id).get("Properties", {}).get("Parameters", {})
        if parameter not in new or old.get(parameter) != new[parameter]:
            return False
        return self.value_unchanged(parent, new[parameter])

    def _output_unchanged(self, path: Path, output: str) -> bool:
        """Output `output` of the nested stack at `path` keeps its deployed value."""
        old = (self.old(path) or {}).get("Outputs", {}).get(output)
        new = (self.new(path) or {}).get("Outputs", {}).get(output)
        return old is not None and old == new and self.value_unchanged(path, new.get("Value"))

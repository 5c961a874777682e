"""Text artefacts in YAML (GitHub workflows, CodeBuild buildspecs) rendered with jinja2
from templates shipped as package data beside the module that renders them.

The templates use [[ ]] and [% %] as delimiters so GitHub's own ${{ }} expressions
pass through untouched; reading a package's own resources is part of the code, not an
input of the build.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import jinja2


@cache
def environment(package: str) -> jinja2.Environment:
    """The jinja2 environment for the templates of `package`, strict about undefined names."""
    found = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files(package).joinpath(name).read_text(encoding="utf-8")
        ),
        variable_start_string="[[", variable_end_string="]]",
        block_start_string="[%", block_end_string="%]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    found.filters["quote"] = json.dumps  # a YAML double-quoted scalar
    return found

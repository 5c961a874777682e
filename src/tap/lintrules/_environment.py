"""What a rule may learn from a template's file name: the environment it is for.

A template does not name its environment inside it. The build emits each one at
`templates/<system>/<env>/<name>.template.json` and lints it under that path
(tap.build.lint_targets), and the `cfn-lint` command line sees the same paths
through `.cfnlintrc`, so the folder that holds a template names its environment.
A template linted without a file name (stdin, an API call) is in no environment.

tap.lint keys its cache on `in_prod(file)` as well as on the bytes, so the same
template linted under a prod folder and under a dev folder is not confused.
"""

from __future__ import annotations

from pathlib import PurePath

PROD = "prod"


def in_prod(filename: str | None) -> bool:
    """Whether the template at `filename` is a prod template (its folder is `prod`)."""
    return filename is not None and filename != "" and PurePath(filename).parent.name == PROD

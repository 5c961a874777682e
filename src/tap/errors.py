"""The two kinds of failure the tooling reports without a traceback.

A `UserError` is a mistake the person running the tool can fix (a config
typo, an unknown environment): exit code 2. A `BuildError` is a build that
cannot be accepted (a quota crossed, a lint finding): exit code 1.
Anything else is a bug in tap and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user; the message says what was wrong and what is allowed."""

    exit_code = 2


class BuildError(Exception):
    """The inputs were valid but the result breaks a rule (quota, lint)."""

    exit_code = 1


class ConfigError(UserError):
    """A bad value in a config file, located by file and dotted key."""

    def __init__(self, file: str, key: str, problem: str, allowed: str):
        self.file = file
        self.key = key
        self.problem = problem
        self.allowed = allowed
        super().__init__(f"{file}: {key}: {problem}; allowed: {allowed}")


class DeployFailed(Exception):
    """CloudFormation could not carry out a deploy (a resource failed, the stack rolled back)."""

    exit_code = 1


class GateRefused(Exception):
    """The review found stateful resources the change set would lose, and none was allowed."""

    exit_code = 3

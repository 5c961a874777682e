"""The deploy tool: `./deploy.sh` is a thin wrapper over `python -m tap.deploy`.

A deploy reads like its steps, each a module of its own: the build is checked and
packaged (`artifacts`), parameters resolved (`parameters`), the account checked
(`preflight`), artefacts uploaded (`artifacts`), a change set made with its nested
change sets (`changesets`), reviewed and gated (`review`), the stacks protected
(`protection`), executed and followed (`progress`). AWS is reached through one
boto3 session (`aws`); `emulator` stands in for AWS with `--local`.
"""

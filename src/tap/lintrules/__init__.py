"""The project's rules as cfn-lint custom rules, one rule per file.

`python build.py` (tap.lint) and the `cfn-lint` command line (`.cfnlintrc`,
`append_rules: [src/tap/lintrules]`) load this directory, so both report the same
findings. cfn-lint imports each `[A-Za-z]*.py` file here on its own, by path;
helpers shared by the rules live in `_policies.py`, which it skips.
"""

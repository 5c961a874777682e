"""`python -m tap.deploy`: the deploy tool behind ./deploy.sh."""

import sys

from tap.deploy.cli import main

sys.exit(main())

"""``python -m infra_review.cli`` runs the same CLI as ``infra-review``."""

import sys

from infra_review.cli import main

sys.exit(main())
